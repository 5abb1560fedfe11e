// The status page served at "/": one self-contained HTML document (inline CSS and script, no
// external fonts, scripts or images, so it works on a site without internet access). The script
// polls /v1/status (same origin, so the browser resends basic-auth credentials) every few
// seconds and renders the broker summary, topics with sizes and rates, consumer groups with lag,
// mirror links with state and backlog, and the recent WARN/ERROR log lines. Rates are the
// difference between two polls of the counters /v1/status reports, divided by the time between
// them (the broker's now_ms), so the broker keeps no rate state for the page.
//
// DOM contract (tests/admin/status_page_test.py relies on it): <body data-loaded> counts the
// renders; rows carry data-topic / data-group / data-mirror, and cells data-field="..." with the
// raw number in data-value next to the formatted text.
#include "admin/admin_service.h"

namespace ferry::admin {
namespace {

constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>ferry status</title>
<style>
:root{--bg:#f6f7f9;--fg:#1c232b;--mut:#5f6b77;--card:#fff;--line:#dde2e7;--ok:#1a7f37;--bad:#c62828;--warn:#b26a00}
@media (prefers-color-scheme:dark){:root{--bg:#14181c;--fg:#e6e9ec;--mut:#9aa5b1;--card:#1d2329;--line:#303840}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;gap:.3em 1em;align-items:baseline;padding:.7em 1em;background:var(--card);border-bottom:1px solid var(--line)}
header h1{font-size:1.2em;margin:0}
.mut{color:var(--mut);font-size:.88em}
.badge{display:inline-block;padding:.05em .55em;border-radius:1em;font-size:.85em;font-weight:600;color:#fff;background:var(--mut)}
.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}.badge.warn{background:var(--warn)}
main{padding:.6em;max-width:1200px;margin:0 auto}
#banner{display:none;margin:.4em 0;padding:.5em .8em;border-radius:6px;background:var(--bad);color:#fff}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(135px,1fr));gap:.5em;margin:.4em 0 .8em}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.5em .7em}
.card b{display:block;font-size:1.3em;font-variant-numeric:tabular-nums}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;margin:0 0 .8em;padding:.5em .7em}
section h2{font-size:1em;margin:.1em 0 .4em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:right;padding:.3em .5em;border-bottom:1px solid var(--line);white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{font-size:.8em;color:var(--mut);font-weight:600}
td.txt{text-align:left;white-space:normal;word-break:break-word;min-width:14em}
tr.sub td{font-size:.85em;color:var(--mut)}
.lvl-error{color:var(--bad);font-weight:600}.lvl-warn{color:var(--warn);font-weight:600}
.empty{color:var(--mut);font-style:italic}
@media (max-width:560px){body{font-size:14px}th,td{padding:.25em .35em}.hide-s{display:none}}
</style></head>
<body data-loaded="0">
<header><h1>ferry</h1><span id="ready" class="badge">loading</span>
<span class="mut" id="ident"></span><span class="mut" id="updated"></span></header>
<main>
<noscript><p>This page needs JavaScript; the same data is at <a href="v1/status">/v1/status</a>.</p></noscript>
<div id="banner"></div>
<div class="cards" id="summary"></div>
<section><h2>Topics</h2><div class="scroll"><table>
<thead><tr><th>topic</th><th class="hide-s">partitions</th><th>records</th><th>size</th><th>in rec/s</th><th class="hide-s">in B/s</th><th>out rec/s</th><th class="hide-s">produced</th></tr></thead>
<tbody id="topics"></tbody></table></div></section>
<section><h2>Consumer groups</h2><div class="scroll"><table>
<thead><tr><th>group / partition</th><th>state</th><th class="hide-s">members</th><th>committed</th><th class="hide-s">end</th><th>lag</th></tr></thead>
<tbody id="groups"></tbody></table></div></section>
<section><h2>Mirrors</h2><div class="scroll"><table>
<thead><tr><th>mirror</th><th>link</th><th class="hide-s">since</th><th>behind (records)</th><th>backlog</th><th class="hide-s">seconds behind</th><th class="hide-s">reconnects</th><th>last error</th></tr></thead>
<tbody id="mirrors"></tbody></table></div></section>
<section><h2>Recent warnings and errors</h2><div class="scroll"><table>
<thead><tr><th>time (UTC)</th><th>level</th><th>module</th><th>message</th></tr></thead>
<tbody id="errors"></tbody></table></div></section>
<section><h2>Listeners</h2><div class="scroll"><table>
<thead><tr><th>name</th><th>address</th><th>state</th><th>connections</th></tr></thead>
<tbody id="listeners"></tbody></table></div></section>
<p class="mut">Raw data: <a href="v1/status">/v1/status</a> · <a href="metrics">/metrics</a></p>
</main>
<script>
"use strict";
(function(){
var every=Math.max(1,Math.min(60,Number(new URLSearchParams(location.search).get("every"))||3));
var prev=null,renders=0;
// fetch() refuses URLs with credentials in them (a page opened as user:pass@host/):
// the browser's authentication cache supplies them for this origin.
var su=new URL("v1/status",location.href);su.username="";su.password="";var statusUrl=su.href;
function $(id){return document.getElementById(id);}
function el(tag,attrs,text){var e=document.createElement(tag);
  for(var k in attrs||{}){if(attrs[k]!==undefined&&attrs[k]!==null)e.setAttribute(k,attrs[k]);}
  if(text!==undefined&&text!==null)e.textContent=String(text);return e;}
function grp(n){var s=String(Math.round(n)),neg=s[0]==="-";if(neg)s=s.slice(1);
  return (neg?"-":"")+s.replace(/\B(?=(\d{3})+(?!\d))/g,",");}
function bytes(n){if(n<1024)return n+" B";var u=["KiB","MiB","GiB","TiB"],i=-1;
  do{n/=1024;i++;}while(n>=1024&&i<u.length-1);return n.toFixed(n<10?2:1)+" "+u[i];}
function rate(n){if(n===null)return "–";return n<10?n.toFixed(1):grp(n);}
function ago(ms,now){if(!ms)return "–";var s=Math.max(0,Math.round((now-ms)/1000));
  if(s<120)return s+" s ago";if(s<7200)return Math.round(s/60)+" min ago";
  if(s<172800)return Math.round(s/3600)+" h ago";return Math.round(s/86400)+" d ago";}
function dur(s){var d=Math.floor(s/86400),h=Math.floor(s%86400/3600),m=Math.floor(s%3600/60);
  return d?d+"d "+h+"h":h?h+"h "+m+"m":m+"m "+(s%60)+"s";}
function utc(ms){return new Date(ms).toISOString().replace("T"," ").slice(0,19);}
function cell(field,value,text,cls){return el("td",{"data-field":field,"data-value":value,"class":cls},text===undefined?value:text);}
function fill(tbody,rows,cols,emptyText){tbody.replaceChildren();
  if(!rows.length){var tr=el("tr");tr.appendChild(el("td",{colspan:cols,"class":"empty"},emptyText));tbody.appendChild(tr);return;}
  rows.forEach(function(r){tbody.appendChild(r);});}
function card(label,value,raw,id){var d=el("div",{"class":"card","data-card":id,"data-value":raw});
  d.appendChild(el("b",null,value));d.appendChild(el("span",{"class":"mut"},label));return d;}

function render(s){
  var b=s.broker||{},now=b.now_ms||Date.now(),dt=prev?(now-prev.now)/1000:0,counts={};
  var rd=$("ready");rd.textContent=b.ready?"ready":"not ready";rd.className="badge "+(b.ready?"ok":"bad");
  rd.title=(b.not_ready_reasons||[]).join("; ");
  $("ident").textContent="node "+b.node_id+" · "+b.version+" ("+b.commit+") · up "+dur(b.uptime_seconds||0);
  $("updated").textContent="updated "+utc(now)+" UTC";
  var ban=$("banner");
  if(!b.ready&&(b.not_ready_reasons||[]).length){ban.style.display="block";ban.textContent="Not ready: "+b.not_ready_reasons.join("; ");}
  else ban.style.display="none";
  var tp=[],nparts=0,size=0,inRec=0,inB=0,haveRate=false;
  (s.topics||[]).forEach(function(t){
    var recs=0;(t.partitions||[]).forEach(function(p){recs+=Math.max(0,p.log_end_offset-p.log_start_offset);});
    nparts+=(t.partitions||[]).length;size+=t.size_bytes;
    var c={pr:t.produced_records,pb:t.produced_bytes,fr:t.fetched_records};counts[t.name]=c;
    var o=prev&&prev.counts[t.name],ri=null,rb=null,ro=null;
    if(o&&dt>0){ri=Math.max(0,(c.pr-o.pr)/dt);rb=Math.max(0,(c.pb-o.pb)/dt);ro=Math.max(0,(c.fr-o.fr)/dt);
      inRec+=ri;inB+=rb;haveRate=true;}
    var tr=el("tr",{"data-topic":t.name});
    tr.appendChild(el("td",{"data-field":"name"},t.name));
    tr.appendChild(cell("partitions",(t.partitions||[]).length,undefined,"hide-s"));
    tr.appendChild(cell("records",recs,grp(recs)));
    tr.appendChild(cell("size",t.size_bytes,bytes(t.size_bytes)));
    tr.appendChild(cell("in_rate",ri===null?"":ri.toFixed(2),rate(ri)));
    tr.appendChild(cell("in_bytes_rate",rb===null?"":rb.toFixed(0),rb===null?"–":bytes(Math.round(rb))+"/s","hide-s"));
    tr.appendChild(cell("out_rate",ro===null?"":ro.toFixed(2),rate(ro)));
    tr.appendChild(cell("produced",t.produced_records,grp(t.produced_records),"hide-s"));
    tp.push(tr);});
  fill($("topics"),tp,8,"no topics");
  var gr=[],totalLag=0;
  (s.groups||[]).forEach(function(g){totalLag+=g.lag;
    var tr=el("tr",{"data-group":g.group});
    tr.appendChild(el("td",{"data-field":"name"},g.group));
    tr.appendChild(el("td",{"data-field":"state"},g.state));
    tr.appendChild(cell("members",g.members,undefined,"hide-s"));
    tr.appendChild(el("td"));tr.appendChild(el("td",{"class":"hide-s"}));
    tr.appendChild(cell("lag",g.lag,grp(g.lag)));gr.push(tr);
    (g.partitions||[]).forEach(function(p){
      var sr=el("tr",{"class":"sub","data-group-partition":g.group+"/"+p.topic+"/"+p.partition});
      sr.appendChild(el("td",null,"\u00a0\u00a0"+p.topic+" ["+p.partition+"]"));
      sr.appendChild(el("td"));sr.appendChild(el("td",{"class":"hide-s"}));
      sr.appendChild(cell("committed",p.committed_offset,grp(p.committed_offset)));
      sr.appendChild(cell("end",p.high_watermark,p.high_watermark<0?"gone":grp(p.high_watermark),"hide-s"));
      sr.appendChild(cell("lag",p.lag,p.lag<0?"–":grp(p.lag)));gr.push(sr);});});
  fill($("groups"),gr,6,"no consumer groups");
  var mr=[],mirrorsDown=0,ms=(s.mirrors&&s.mirrors.mirrors)||[];
  ms.forEach(function(m){var behind=0,bb=0,sb=0;
    (m.partitions||[]).forEach(function(p){behind+=Math.max(0,p.records_behind);bb+=Math.max(0,p.bytes_behind);sb=Math.max(sb,p.seconds_behind);});
    if(m.link_state!=="connected")mirrorsDown++;
    var tr=el("tr",{"data-mirror":m.name});
    tr.appendChild(el("td",{"data-field":"name"},m.name));
    var st=el("td",{"data-field":"link_state"});
    st.appendChild(el("span",{"class":"badge "+(m.link_state==="connected"?"ok":m.link_state==="disabled"?"":"warn")},m.link_state));tr.appendChild(st);
    tr.appendChild(el("td",{"class":"hide-s"},ago(m.link_since_ms,now)));
    tr.appendChild(cell("records_behind",behind,grp(behind)));
    tr.appendChild(cell("bytes_behind",bb,bytes(bb)));
    tr.appendChild(cell("seconds_behind",sb,grp(sb),"hide-s"));
    tr.appendChild(cell("reconnects",m.reconnects,undefined,"hide-s"));
    tr.appendChild(el("td",{"class":"txt","data-field":"last_error"},m.last_error?m.last_error+" ("+ago(m.last_error_ms,now)+")":"–"));
    mr.push(tr);});
  fill($("mirrors"),mr,8,s.mirrors?"no mirror links":"no [[mirror]] configured");
  var er=(s.recent_errors||[]).slice().reverse().map(function(e){
    var tr=el("tr",{"data-error":e.level});
    tr.appendChild(el("td",{"data-field":"time","data-value":e.time_ms},utc(e.time_ms)));
    tr.appendChild(el("td",{"data-field":"level","class":"lvl-"+e.level},e.level.toUpperCase()));
    tr.appendChild(el("td",{"data-field":"module"},e.module));
    tr.appendChild(el("td",{"data-field":"message","class":"txt"},e.message));return tr;});
  fill($("errors"),er,4,"none since start");
  var conns=0,ls=(b.listeners||[]).map(function(l){conns+=l.connections;
    var tr=el("tr",{"data-listener":l.name});tr.appendChild(el("td",null,l.name));
    tr.appendChild(el("td",null,l.bind+":"+l.port));
    tr.appendChild(el("td",null,l.listening?"listening":"closed"));
    tr.appendChild(cell("connections",l.connections));return tr;});
  fill($("listeners"),ls,4,"no listeners");
  var sum=$("summary");sum.replaceChildren();
  sum.appendChild(card("topics",grp((s.topics||[]).length),(s.topics||[]).length,"topics"));
  sum.appendChild(card("partitions",grp(nparts),nparts,"partitions"));
  sum.appendChild(card("stored",bytes(size),size,"size"));
  sum.appendChild(card("in records/s",haveRate?rate(inRec):"–",haveRate?inRec.toFixed(2):"","in_rate"));
  sum.appendChild(card("in bytes/s",haveRate?bytes(Math.round(inB)):"–",haveRate?inB.toFixed(0):"","in_bytes_rate"));
  sum.appendChild(card("group lag",grp(totalLag),totalLag,"lag"));
  sum.appendChild(card("connections",grp(conns),conns,"connections"));
  sum.appendChild(card("mirrors down",grp(mirrorsDown)+" / "+ms.length,mirrorsDown,"mirrors_down"));
  prev={now:now,counts:counts};
  renders++;document.body.setAttribute("data-loaded",String(renders));
}
function poll(){
  fetch(statusUrl,{cache:"no-store",credentials:"same-origin"}).then(function(r){
    if(!r.ok)throw new Error("HTTP "+r.status);return r.json();
  }).then(function(s){render(s);}).catch(function(e){
    var ban=$("banner");ban.style.display="block";ban.textContent="Cannot read /v1/status: "+e.message+" (retrying every "+every+" s; figures shown may be stale)";
    $("ready").textContent="unreachable";$("ready").className="badge bad";
  }).finally(function(){setTimeout(poll,every*1000);});
}
poll();
})();
</script>
</body></html>
)HTML";

}  // namespace

std::string_view status_page_html() { return kPage; }

}  // namespace ferry::admin
