//! A real OpenID provider (the npm package `oidc-provider`, see
//! tests/oidc/provider.mjs) on a loopback port, and a browser for its side
//! of the redirect dance, for the OAuth tests.
//!
//! The package is installed by `npm ci --prefix tests/oidc` (`.ci/run` does
//! it). Without node or the package the tests are skipped with a notice,
//! except under `CI=true`.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The app's origin in the OAuth tests (`server_name`, https): the provider
/// sends the browser back to `{APP_ORIGIN}/oauth-authorize/<profile>`.
pub const APP_ORIGIN: &str = "https://app.example.com";
/// The client the provider knows kegauth by.
pub const CLIENT_ID: &str = "kegauth-tests";
pub const CLIENT_SECRET: &str = "kegauth-tests-client-secret-with-256-bits!";
/// A client whose ID tokens the provider signs with HS256 (the client secret).
pub const HS256_CLIENT_ID: &str = "kegauth-tests-hs256";

pub struct OidcProvider {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub issuer: String,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn provider_dir() -> PathBuf {
    super::root().join("tests/oidc")
}

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl OidcProvider {
    /// Start a provider whose client `CLIENT_ID` may come back to the
    /// profiles named in `profiles`, with `accounts` (login name -> claims).
    /// `claims_in_id_token` puts the email and profile claims in the ID token
    /// (else only the userinfo endpoint gives them). `None`, with a notice,
    /// when node or the package is missing outside CI.
    pub fn start(
        profiles: &[&str],
        accounts: serde_json::Value,
        claims_in_id_token: bool,
    ) -> Option<OidcProvider> {
        let dir = provider_dir();
        if !node_available() || !dir.join("node_modules/oidc-provider").exists() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "CI=true but node or oidc-provider is missing: the OAuth tests must run in CI \
                     (npm ci --prefix tests/oidc)"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "notice: node or oidc-provider is not installed; skipping the OAuth tests \
                 (npm ci --prefix tests/oidc)"
            );
            return None;
        }
        let redirect_uris: Vec<String> = profiles
            .iter()
            .map(|p| format!("{APP_ORIGIN}/oauth-authorize/{p}"))
            .collect();
        let config = serde_json::json!({
            "clients": [{
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            }, {
                "client_id": HS256_CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": redirect_uris,
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "id_token_signed_response_alg": "HS256",
            }],
            "accounts": accounts,
            "conformIdTokenClaims": !claims_in_id_token,
        });
        let verbose = std::env::var("KEGAUTH_TEST_OIDC_LOG").is_ok();
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("OIDC_TEST_CONFIG", config.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if verbose {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("start node");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("the provider's stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the provider's first line");
        let started: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the provider did not start ({e}): {line:?}"));
        let issuer = started["issuer"].as_str().expect("issuer").to_string();
        Some(OidcProvider { child, issuer })
    }

    /// The `[[kegauth.oauth_profiles]]` entry for this provider.
    pub fn profile(&self, name: &str, domain_filter: Option<&str>) -> serde_json::Value {
        let mut profile = serde_json::json!({
            "name": name,
            "label": "Test IdP",
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        });
        if let Some(domain) = domain_filter {
            profile["domain_filter"] = domain.into();
        }
        profile
    }
}

/// The browser's side at the provider: it keeps the provider's cookies,
/// follows its redirects, and fills in its development login and consent
/// forms.
pub struct ProviderBrowser {
    http: reqwest::Client,
}

impl Default for ProviderBrowser {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderBrowser {
    pub fn new() -> Self {
        ProviderBrowser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
        }
    }

    /// Go from the authorization URL kegauth sent the browser to, through
    /// the provider's pages (logging in as `login` when asked), to the URL
    /// the provider sends the browser back to; its path and query on the app.
    pub async fn authorize(&self, authorization_url: &str, login: &str) -> String {
        let mut url = authorization_url.to_string();
        for _ in 0..20 {
            if let Some(back) = url.strip_prefix(APP_ORIGIN) {
                return back.to_string();
            }
            let r = self
                .http
                .get(&url)
                .send()
                .await
                .expect("the provider answers");
            let status = r.status();
            if status.is_redirection() {
                url = self.resolve(&url, &location(&r));
                continue;
            }
            let page = r.text().await.unwrap_or_default();
            assert!(status.is_success(), "{status} from {url}: {page}");
            let action =
                attr_after(&page, "<form", "action").expect("a form on the provider's page");
            let action = self.resolve(&url, &action.replace("&amp;", "&"));
            let prompt = attr_after(&page, "name=\"prompt\"", "value").expect("the prompt");
            let fields: Vec<(&str, &str)> = match prompt.as_str() {
                "login" => vec![("prompt", "login"), ("login", login), ("password", "any")],
                other => vec![("prompt", other)],
            };
            let r = self
                .http
                .post(&action)
                .form(&fields)
                .send()
                .await
                .expect("the provider answers the form");
            assert!(r.status().is_redirection(), "{} from {action}", r.status());
            url = self.resolve(&action, &location(&r));
        }
        panic!("the provider never sent the browser back to the app");
    }

    fn resolve(&self, base: &str, target: &str) -> String {
        url::Url::parse(base)
            .and_then(|b| b.join(target))
            .expect("a URL")
            .to_string()
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The value of attribute `name` in the first tag at or after `marker`.
fn attr_after(page: &str, marker: &str, name: &str) -> Option<String> {
    let start = page.find(marker)?;
    let rest = &page[start..];
    let tag = &rest[..rest.find('>')?];
    let key = format!("{name}=\"");
    let from = tag.find(&key)? + key.len();
    Some(tag[from..].split('"').next()?.to_string())
}

/// An absolute URL, or a path on the app.
fn parse(url: &str) -> Option<url::Url> {
    url::Url::parse(url)
        .or_else(|_| url::Url::parse(&format!("{APP_ORIGIN}{url}")))
        .ok()
}

/// `url` with query parameter `name` set to `value`.
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut parsed = parse(url).expect("a URL or a path");
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    let text = parsed.to_string();
    match text.strip_prefix(APP_ORIGIN) {
        Some(path) if !url.starts_with("http") => path.to_string(),
        _ => text,
    }
}

/// Query parameter `name` of `url` (absolute, or a path).
pub fn param(url: &str, name: &str) -> Option<String> {
    parse(url)?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
