# The Keygate that scripts/load.sh and scripts/instructions.sh measure (sourced, not run): the
# README's configuration (SQLite, no log setting) with one forward-auth route rule, and a
# bootstrapped user whose token the load sends.
#
#   free_port                   a free TCP port on 127.0.0.1
#   bench_config DIR PORT       writes DIR/keygate.toml
#   bench_token BIN DIR         bootstraps user load@example.com with workspace `bench`; prints
#                               the token
#   bench_limited_token BIN DIR LIMIT
#                               another token of that user, held to the rate limit LIMIT
#                               (`name limit/seconds`); prints it

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
bench_config() {
  cat > "$1/keygate.toml" <<TOML
bind = "127.0.0.1:$2"
database_url = "sqlite://$1/keygate.db"

[[route]]
methods = ["GET"]
path = "/w/{workspace}/devices/{device}"
permission = "devices:read"
resource = "device:{device}"
workspace = "{workspace}"
TOML
}
bench_token() {
  "$1" --config "$2/keygate.toml" bootstrap --email load@example.com --workspace bench --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
bench_limited_token() {
  "$1" --config "$2/keygate.toml" token create --user load@example.com --rate-limit "$3" --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
