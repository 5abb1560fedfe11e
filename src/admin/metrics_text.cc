// The Prometheus text exposition writer. See metrics_text.h.
#include "admin/metrics_text.h"

#include <charconv>
#include <cmath>

namespace ferry::admin {

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string MetricsText::format_double(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);  // shortest text that reads back
  return std::string(buf, r.ptr);
}

void MetricsText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  out_ += escape_help(help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void MetricsText::write_sample(std::string_view name, const Label* labels, size_t n, Label extra,
                               const std::string& value) {
  out_ += name;
  if (n > 0 || !extra.first.empty()) {
    out_ += '{';
    bool first = true;
    auto put = [&](const Label& l) {
      if (!first) out_ += ',';
      first = false;
      out_ += l.first;
      out_ += "=\"";
      out_ += escape_label_value(l.second);
      out_ += '"';
    };
    for (size_t i = 0; i < n; ++i) put(labels[i]);
    if (!extra.first.empty()) put(extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

void MetricsText::histogram(std::string_view name, std::initializer_list<Label> labels,
                            const Histogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < Histogram::kBounds.size(); ++i) {
    cumulative += h.counts()[i];
    write_sample(bucket, labels.begin(), labels.size(),
                 Label{"le", format_double(Histogram::kBounds[i])}, std::to_string(cumulative));
  }
  write_sample(bucket, labels.begin(), labels.size(), Label{"le", "+Inf"},
               std::to_string(h.count()));
  write_sample(std::string(name) + "_sum", labels.begin(), labels.size(), {},
               format_double(h.sum()));
  write_sample(std::string(name) + "_count", labels.begin(), labels.size(), {},
               std::to_string(h.count()));
}

}  // namespace ferry::admin
