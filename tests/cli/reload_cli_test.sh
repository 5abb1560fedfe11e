#!/usr/bin/env bash
# SIGHUP as an operator uses it: `ferry serve` reads its file again; log.level and the admin
# listener's basic authentication (a rotated password in the same file) apply at once; a changed
# key that needs a restart is named once at WARN (not again on the next SIGHUP with the file
# unchanged); a file that no longer parses changes nothing; the broker keeps serving throughout.
#
#   reload_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
. "$(dirname "$0")/lib.sh"

printf 'first-secret\n' >"$WORK/admin.pw"
start_broker "admin.listen = \"127.0.0.1:0\"
admin.basic.auth.user = \"ops\"
admin.basic.auth.password.file = \"$WORK/admin.pw\"
log.level = \"info\"
max.connections = 1024"
wait_for "$WORK/serve.log" "admin listener serving on" || echo "FAIL: no admin listener"
ADMIN=$(grep -o "admin listener serving on 127.0.0.1:[0-9]*" "$WORK/serve.log" | head -1 | cut -d: -f2)
status() {  # status PASSWORD: the HTTP status of /v1/status with ops:PASSWORD
  curl -s -o /dev/null -w '%{http_code}' -u "ops:$1" "http://127.0.0.1:$ADMIN/v1/status"
}
reloads() { grep -c "config reload: .* applied, .* newly needing a restart" "$WORK/serve.log"; }
hup() {  # hup: SIGHUP and wait (bounded) for its summary line
  local before i
  before=$(reloads)
  kill -HUP "$BROKER"
  for i in $(seq 1 200); do
    [ "$(reloads)" -gt "$before" ] && return 0
    sleep 0.05
  done
  echo "FAIL: no reload summary after SIGHUP"
  fails=$((fails + 1))
}
check "the first password works" [ "$(status first-secret)" = 200 ]

# A key that needs a restart: named once at WARN, not again on the next SIGHUP.
sed -i 's/^max.connections = 1024/max.connections = 99/' "$WORK/ferry.toml"
hup
check "max.connections named at WARN as needing a restart" \
  grep -q "WARN  broker: config reload: max.connections changed (1024 -> 99); it takes effect after a restart" \
  "$WORK/serve.log"
check "the summary counts it" grep -q "config reload: 0 change(s) applied, 1 newly needing a restart" "$WORK/serve.log"
hup
check "the restart-needing key is named once" \
  [ "$(grep -c "config reload: max.connections changed" "$WORK/serve.log")" = 1 ]
check "the unchanged file's summary" grep -q "config reload: 0 change(s) applied, 0 newly needing a restart" "$WORK/serve.log"

# Joining a cluster ([cluster] added) needs a restart, and says so.
printf '\n[cluster]\npeers = ["0@127.0.0.1:9"]\n' >>"$WORK/ferry.toml"
hup
check "a [cluster] table named at WARN as needing a restart" \
  grep -q "WARN  broker: config reload: cluster changed (none -> 0@127.0.0.1:9,); it takes effect after a restart" \
  "$WORK/serve.log"

# Rotate the password and raise the log level to warn; then back to info.
printf 'second-secret\n' >"$WORK/admin.pw"
sed -i 's/^log.level = "info"/log.level = "warn"/' "$WORK/ferry.toml"
kill -HUP "$BROKER"
check "log.level applied" wait_for "$WORK/serve.log" "config reload: log.level info -> warn (applied)"
check "the rotated password applies" [ "$(status second-secret)" = 200 ]
check "the old password is refused" [ "$(status first-secret)" = 401 ]
sed -i 's/^log.level = "warn"/log.level = "info"/' "$WORK/ferry.toml"
kill -HUP "$BROKER"
check "log.level back to info" wait_for "$WORK/serve.log" "config reload: log.level warn -> info (applied)"
printf 'this is = = not toml\n' >>"$WORK/ferry.toml"
kill -HUP "$BROKER"
check "a broken file is refused" wait_for "$WORK/serve.log" "config reload failed, the running configuration stays"
check "authentication unchanged after a broken file" [ "$(status second-secret)" = 200 ]
check "the broker still serves Kafka" bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT"

stop "$BROKER"
check "clean exit after the reloads" [ "$RC" = 0 ]
[ "$fails" = 0 ] || tail -30 "$WORK/serve.log"
echo "$fails failures"
[ "$fails" = 0 ]
