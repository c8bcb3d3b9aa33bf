# What benches/floor.sh and benches/load.sh share (sourced by both).

# A wrk script that POSTs `form` to the login form with one browser's
# pre-login session cookie each time.
login_lua() { # file, urlencoded form, pre-login cookie value
  cat > "$1" <<LUA
wrk.method = "POST"
wrk.body = "$2"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "kegauth=$3"
LUA
}
