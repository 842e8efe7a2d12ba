# Sourced by scripts/bench-load and scripts/fault-runs: the SMTP server on loopback, release
# engines on the throwaway folder DATA, and the database they share. The caller sets DATA, WORK,
# MAIL, PORT (the first engine's, also the public address every engine names in its QR links),
# SMTP_PORT, CITIZENS (the generated citizens of the development registry) and SERVE_FLAGS (an
# array of further `serve` flags).

declare -A SERVERS=()

# Starts tests/smtp_server.py; waits for its Nth "ready" line (N > 1 when it is started again).
smtp_up() {
  python3 tests/smtp_server.py --port "$SMTP_PORT" --out "$MAIL" >>"$WORK/smtp.log" 2>&1 &
  SMTP=$!
  for _ in $(seq 1 50); do [ "$(grep -c ready "$WORK/smtp.log")" -ge "${1:-1}" ] && return; sleep 0.2; done
  echo "the SMTP server did not start" >&2; exit 1
}

# An engine on PORT: the first owns the embedded cluster, the others get its DATABASE_URL.
serve() { # PORT [DATABASE_URL]
  env ${2:+DATABASE_URL=$2} target/release/diia-qr serve --port "$1" --data-dir "$DATA" --dev-sign-in \
    --dev-population "$CITIZENS" --public-url "http://127.0.0.1:$PORT" \
    --smtp-url "smtp://127.0.0.1:$SMTP_PORT" --mail-from "diia-qr@load.example" \
    --guesses-per-minute 100000000 --public-requests-per-minute 100000000 "${SERVE_FLAGS[@]}" >>"$WORK/serve-$1.log" 2>&1 &
  SERVERS[$1]=$!
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$1/health" >/dev/null 2>&1 && return; sleep 0.25; done
  cat "$WORK/serve-$1.log" >&2; exit 1
}

# PG (psql's connection flags, no database) and DATABASE (the engines' URL) of the embedded cluster.
database() {
  PGPORT=$(sed -n 4p "$DATA/postgres/postmaster.pid")
  PGSOCK=$(sed -n 5p "$DATA/postgres/postmaster.pid")
  PG=(-h "$PGSOCK" -p "$PGPORT" -U postgres)
  DATABASE="postgres://postgres@localhost/diia_qr?host=$PGSOCK&port=$PGPORT"
}

stop_engines() {
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SERVERS=()
  [ -n "${SMTP:-}" ] && kill "$SMTP" 2>/dev/null
  return 0
}

# "LETTERS DISTINCT": the letters with copies in the mail server's folder, and their distinct
# Message-IDs (a letter re-sent after a lost answer keeps its Message-ID).
copies_letters() {
  python3 - "$MAIL" <<'PY'
import collections, email, email.policy, glob, sys
ids = collections.Counter()
for path in glob.glob(f"{sys.argv[1]}/*.eml"):
    letter = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    if str(letter["Subject"]).startswith("Дія.QR: копії"):
        ids[letter["Message-ID"]] += 1
print(sum(ids.values()), len(ids))
PY
}
