# Functions of the shell custom runtime (see bootstrap): each gets the event JSON as $1 and prints its result.

handler() {
  printf '{"echo":%s,"handler":"%s","requestId":"%s","secret":"%s","region":"%s"}' \
    "$1" "$_HANDLER" "$REQUEST_ID" "${SECRET_TOKEN:-}" "$AWS_REGION"
}

fail() {
  echo "something went wrong" >&2
  return 1
}

# Holds ~256 MB (tail keeps a "line" without newline in memory) in a child process, for the memory watchdog.
hog() {
  head -c 268435456 /dev/zero | tail -n 1 >/dev/null
  printf '"survived"'
}
