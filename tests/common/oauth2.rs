//! A plain OAuth 2 provider on loopback, in GitHub's shapes, for the tests of
//! plain OAuth 2 profiles: `/authorize` (read by the test, as a browser
//! would), `/token` (checks the client, the code, the redirect URI and the
//! PKCE verifier; codes are single-use), `/user` and `/user/emails` (the
//! bearer token's person). A few switches make it fail the way providers do.

use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub const CLIENT_ID: &str = "kegauth-app";
pub const CLIENT_SECRET: &str = "kegauth-app-secret";

#[derive(Default)]
struct State {
    /// code -> (person, PKCE challenge, redirect URI)
    codes: HashMap<String, (String, String, String)>,
    /// access token -> person
    tokens: HashMap<String, String>,
    /// What the token endpoint redeemed, for the tests to read.
    redeemed: Vec<HashMap<String, String>>,
    /// Refuse every code (`invalid_grant`).
    refuse_codes: bool,
    /// Answer `/user` with this status instead.
    user_status: Option<u16>,
}

pub struct FakeOAuth2 {
    pub url: String,
    people: Value,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Drop for FakeOAuth2 {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

impl FakeOAuth2 {
    /// Start it with `people`: login -> `{"user": {...}, "emails": [...]}`.
    pub fn start(people: Value) -> FakeOAuth2 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st, p) = (state.clone(), stop.clone(), people.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(conn) = conn {
                    let _ = serve(conn, &s, &p);
                }
            }
        });
        FakeOAuth2 {
            url,
            people,
            state,
            stop,
        }
    }

    /// A profile for this provider: the GitHub preset with its URLs
    /// pointed here, plus `extra`.
    pub fn profile(&self, name: &str, extra: Value) -> Value {
        let mut p = json!({
            "name": name,
            "preset": "github",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "authorize_url": format!("{}/authorize", self.url),
            "token_url": format!("{}/token", self.url),
            "userinfo_url": format!("{}/user", self.url),
            "emails_url": format!("{}/user/emails", self.url),
        });
        if let (Some(p), Some(extra)) = (p.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                if v.is_null() {
                    p.remove(k);
                } else {
                    p.insert(k.clone(), v.clone());
                }
            }
        }
        p
    }

    /// Play the browser at the provider: check the authorization URL
    /// kegauth sent it to, log `login` in, and return the callback path
    /// (and query) the provider sends the browser back to.
    pub fn authorize(&self, authorization_url: &str, login: &str) -> String {
        assert!(
            self.people.get(login).is_some(),
            "no such test person: {login}"
        );
        let url = url::Url::parse(authorization_url).expect("an authorization URL");
        assert!(authorization_url.starts_with(&format!("{}/authorize?", self.url)));
        let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(q["code_challenge_method"], "S256", "PKCE");
        assert!(!q["state"].is_empty());
        let code = format!("code-{:x}", rand::random::<u64>());
        let redirect = q["redirect_uri"].clone();
        self.state.lock().unwrap().codes.insert(
            code.clone(),
            (login.into(), q["code_challenge"].clone(), redirect.clone()),
        );
        let back = url::Url::parse(&redirect).expect("a redirect URI");
        format!("{}?code={code}&state={}", back.path(), q["state"])
    }

    /// The scopes kegauth asked for in an authorization URL.
    pub fn scopes(authorization_url: &str) -> String {
        url::Url::parse(authorization_url)
            .expect("an authorization URL")
            .query_pairs()
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }

    /// Refuse every code from now on.
    pub fn refuse_codes(&self) {
        self.state.lock().unwrap().refuse_codes = true;
    }

    /// Answer `/user` with `status` from now on.
    pub fn fail_user(&self, status: u16) {
        self.state.lock().unwrap().user_status = Some(status);
    }

    /// The forms the token endpoint redeemed a code for.
    pub fn redeemed(&self) -> Vec<HashMap<String, String>> {
        self.state.lock().unwrap().redeemed.clone()
    }
}

fn serve(conn: TcpStream, state: &Mutex<State>, people: &Value) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (status, answer) = answer(&method, &target, &headers, &body, state, people);
    let text = answer.to_string();
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{text}",
        text.len()
    )?;
    conn.flush()
}

fn answer(
    method: &str,
    target: &str,
    headers: &HashMap<String, String>,
    body: &[u8],
    state: &Mutex<State>,
    people: &Value,
) -> (u16, Value) {
    let mut state = state.lock().unwrap();
    let person = || {
        headers
            .get("authorization")
            .and_then(|a| a.strip_prefix("Bearer "))
            .and_then(|t| state.tokens.get(t).cloned())
            .and_then(|login| people.get(&login).cloned())
    };
    match (method, target) {
        ("POST", "/token") => {
            let form: HashMap<String, String> =
                url::form_urlencoded::parse(body).into_owned().collect();
            let bad = |what: &str| {
                (
                    400,
                    json!({"error": "invalid_grant", "error_description": what}),
                )
            };
            if state.refuse_codes {
                return bad("refused");
            }
            if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
                || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
            {
                return (401, json!({"error": "invalid_client"}));
            }
            let Some((login, challenge, redirect)) =
                form.get("code").and_then(|c| state.codes.remove(c))
            else {
                return bad("unknown or used code");
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let hashed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            if hashed != challenge {
                return bad("PKCE verifier");
            }
            if form.get("redirect_uri") != Some(&redirect) {
                return bad("redirect_uri");
            }
            let token = format!("token-{:x}", rand::random::<u64>());
            state.tokens.insert(token.clone(), login);
            state.redeemed.push(form);
            (
                200,
                json!({"access_token": token, "token_type": "bearer", "scope": "read:user"}),
            )
        }
        ("GET", "/user") => match (state.user_status, person()) {
            (Some(status), _) => (status, json!({"message": "server error"})),
            (None, Some(p)) => (200, p["user"].clone()),
            (None, None) => (401, json!({"message": "Bad credentials"})),
        },
        ("GET", "/user/emails") => match person() {
            Some(p) => (200, p["emails"].clone()),
            None => (401, json!({"message": "Bad credentials"})),
        },
        _ => (404, json!({"message": "Not Found"})),
    }
}
