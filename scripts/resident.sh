# Resident memory of a running process, for scripts/load.sh and scripts/memory.sh (sourced, not
# run).
#
#   status PID VmRSS      a field of /proc/PID/status, in KiB
#   mib KIB               "12.3 MiB"
#   settled_rss PID       VmRSS once it stops falling: the allocator hands freed memory back to
#                         the system some seconds after a load, so it is read 2 s after, then
#                         every 5 s until it falls by less than 512 KiB (at most a minute)

status() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
mib() { awk -v kb="$1" 'BEGIN {printf "%.1f MiB", kb / 1024}'; }
settled_rss() {
  local rss now
  sleep 2
  rss="$(status "$1" VmRSS)"
  for _ in $(seq 12); do
    sleep 5
    now="$(status "$1" VmRSS)"
    (( rss - now < 512 )) && { rss="$now"; break; }
    rss="$now"
  done
  echo "$rss"
}
