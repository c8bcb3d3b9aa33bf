//! End to end in a real browser: the demo binary on a loopback port with a
//! fresh SQLite file, driven through headless Chromium by ChromeDriver.
//!
//! The first superuser comes from the CLI; everything else is done the way a
//! person would do it: log in, open the admin menu, create a group with a
//! permission and a user in it, log out, follow the verification link from
//! the mail the demo wrote to its outbox, set a password, log in as the new
//! user, open a permitted page and get 403 on an admin page.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them;
//! `KEGAUTH_CHROMIUM` and `KEGAUTH_CHROMEDRIVER` name other binaries). Without
//! them the test passes with a notice, except under `CI=true`. Screenshots
//! (and, on a failure, the page source and the server's log) are written to
//! `target/e2e-artifacts/<test>/`.
//!
//! The passkey test registers a passkey on the account page, signs in with
//! it and answers a password login's second step with it, through a virtual
//! authenticator that ChromeDriver adds (WebDriver's WebAuthn extension
//! commands), on the demo served as `localhost` (WebAuthn takes no IP
//! address).

use crate::common::process::{free_port, Running};
use crate::common::smtp::Received;
use crate::common::{demo_auth, demo_command, random_secret, TempDb};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const ADMIN: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "the boss's long password";
const ANN: &str = "ann@example.com";
const ANN_PASSWORD: &str = "ann's brand new password";

/// `var`, or the first of `candidates` that exists (absolute, or on `PATH`).
fn program(var: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(var) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates.iter().find_map(|c| {
        let c = Path::new(c);
        if c.is_absolute() {
            return c.exists().then(|| c.to_path_buf());
        }
        std::env::split_paths(&path)
            .map(|dir| dir.join(c))
            .find(|p| p.exists())
    })
}

/// Where screenshots go: `target/e2e-artifacts`.
fn artifacts() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("target/<profile>/deps/<test>");
    let dir = target.join("e2e-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/e2e-artifacts");
    dir
}

/// A failed step: what was expected.
type Step<T = ()> = Result<T, String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// The browser on the demo at `base`.
struct Browser {
    client: Client,
    base: String,
    artifacts: PathBuf,
}

impl Browser {
    async fn open(&self, path: &str) -> Step {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        self.client
            .goto(&url)
            .await
            .map_err(|e| format!("open {url}: {e}"))
    }

    async fn path(&self) -> Step<String> {
        let url = self.client.current_url().await.map_err(|e| e.to_string())?;
        Ok(url.path().to_string())
    }

    /// Wait (up to 10s) until the browser is on `path`.
    async fn until_on(&self, path: &str) -> Step {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.path().await?;
            if now == path {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "expected to be on {path}, still on {now}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait (up to 10s) until the browser has left `path`.
    async fn until_off(&self, path: &str) -> Step {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.path().await? == path {
            ensure!(Instant::now() < deadline, "still on {path}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Wait (up to 10s) until an element matches `css`.
    async fn until_found(&self, css: &str) -> Step<fantoccini::elements::Element> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(e) = self.client.find(Locator::Css(css)).await {
                return Ok(e);
            }
            ensure!(
                Instant::now() < deadline,
                "no `{css}` on {}",
                self.path().await?
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find(&self, css: &str) -> Step<fantoccini::elements::Element> {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => Ok(e),
            Err(e) => Err(format!("no `{css}` on {}: {e}", self.path().await?)),
        }
    }

    async fn fill(&self, css: &str, value: &str) -> Step {
        let field = self.find(css).await?;
        field.clear().await.map_err(|e| e.to_string())?;
        field
            .send_keys(value)
            .await
            .map_err(|e| format!("type into `{css}`: {e}"))
    }

    async fn click(&self, css: &str) -> Step {
        self.find(css)
            .await?
            .click()
            .await
            .map_err(|e| format!("click `{css}`: {e}"))
    }

    /// Pick `label` in the searchable multi-select whose input is `css`
    /// (the page's label names it): type the label, take the first match
    /// with Enter, and see its chip.
    async fn choose(&self, css: &str, label: &str) -> Step {
        let input = self.find(css).await?;
        let role = input.attr("role").await.map_err(|e| e.to_string())?;
        ensure!(role.as_deref() == Some("combobox"), "`{css}` is {role:?}");
        self.keys(css, label).await?;
        self.keys(css, &Key::Enter.to_string()).await?;
        // Close the list, as a person leaving the field would.
        self.keys(css, &Key::Escape.to_string()).await?;
        let chips = self
            .texts(&format!(".kms:has({css}) .kms-chip span"))
            .await?;
        ensure!(
            chips.iter().any(|c| c == label),
            "after choosing {label} in `{css}`: chips {chips:?}"
        );
        Ok(())
    }

    /// Pick `label` in the plain select `css`.
    async fn select(&self, css: &str, label: &str) -> Step {
        self.find(css)
            .await?
            .select_by_label(label)
            .await
            .map_err(|e| format!("choose {label} in `{css}`: {e}"))
    }

    /// The value of a script run in the page.
    async fn run(&self, script: &str) -> Step<serde_json::Value> {
        self.client
            .execute(script, vec![])
            .await
            .map_err(|e| format!("{script}: {e}"))
    }

    /// At 1200 and then 390 pixels wide, the page does not scroll sideways;
    /// a screenshot of each (`<name>-1200.png`, `<name>-390.png`). The
    /// window is 1200 wide again afterwards.
    async fn fits_at_both_widths(&self, name: &str) -> Step {
        for width in [1200u32, 390] {
            self.client
                .set_window_size(width, 900)
                .await
                .map_err(|e| format!("resize to {width}: {e}"))?;
            let overflow = self
                .run(
                    "const e = document.documentElement;\
                     return e.scrollWidth - e.clientWidth;",
                )
                .await?;
            ensure!(
                overflow.as_i64() == Some(0),
                "{name} at {width} px scrolls sideways by {overflow} px"
            );
            self.screenshot(&format!("{name}-{width}.png")).await?;
        }
        self.client
            .set_window_size(1200, 900)
            .await
            .map_err(|e| format!("resize back: {e}"))
    }

    /// Type `keys` into `css` (without clearing it).
    async fn keys(&self, css: &str, keys: &str) -> Step {
        self.find(css)
            .await?
            .send_keys(keys)
            .await
            .map_err(|e| format!("type into `{css}`: {e}"))
    }

    /// The labels of the options chosen in the (hidden) select the
    /// multi-select `css` enhances: what the form will post.
    async fn chosen(&self, css: &str) -> Step<Vec<String>> {
        let got = self
            .client
            .execute(
                "const s = document.getElementById(arguments[0] + '-native');\
                 return Array.from(s.selectedOptions).map(o => o.text);",
                vec![serde_json::json!(css.trim_start_matches('#'))],
            )
            .await
            .map_err(|e| format!("the options of `{css}`: {e}"))?;
        Ok(got
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect())
    }

    /// The visible text of the page.
    async fn text(&self) -> Step<String> {
        self.find("body")
            .await?
            .text()
            .await
            .map_err(|e| e.to_string())
    }

    /// The texts of the elements matching `css`.
    async fn texts(&self, css: &str) -> Step<Vec<String>> {
        let mut out = Vec::new();
        for e in self
            .client
            .find_all(Locator::Css(css))
            .await
            .map_err(|e| e.to_string())?
        {
            out.push(e.text().await.map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    /// The status of a GET of `path` made by the page, with its cookies.
    async fn status_of(&self, path: &str) -> Step<u64> {
        let status = self
            .client
            .execute(
                "return fetch(arguments[0], {redirect: 'manual'}).then(r => r.status);",
                vec![serde_json::json!(path)],
            )
            .await
            .map_err(|e| format!("fetch {path}: {e}"))?;
        status
            .as_u64()
            .ok_or_else(|| format!("fetch {path}: {status}"))
    }

    async fn screenshot(&self, name: &str) -> Step {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| format!("screenshot: {e}"))?;
        std::fs::write(self.artifacts.join(name), png).map_err(|e| e.to_string())
    }

    async fn log_in(&self, login: &str, password: &str) -> Step {
        self.open("/login").await?;
        self.fill("#login_id", login).await?;
        self.fill("#password", password).await?;
        self.click("#login-form button[type=submit]").await?;
        self.until_on("/").await?;
        let who = self
            .find("#who")
            .await?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        ensure!(
            who == format!("Logged in as {login}."),
            "after login: {who}"
        );
        Ok(())
    }
}

/// The admin pages at 1200 and 390 pixels: none scrolls sideways (each is
/// saved as `<page>-<width>.png`), and the menu's Admin section opens as a
/// dropdown over the page instead of pushing it down.
async fn admin_pages_fit_and_menus_drop_down(b: &Browser) -> Step {
    b.open("/users").await?;
    let edit = b
        .find("a.edit-link")
        .await?
        .attr("href")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("an edit link")?;
    for (name, path) in [
        ("users", "/users"),
        ("user-edit", edit.as_str()),
        ("audit", "/audit"),
        ("two-factor", "/account/two-factor"),
    ] {
        b.open(path).await?;
        b.fits_at_both_widths(name).await?;
    }
    b.open("/users").await?;
    let top = "return document.querySelector('main').getBoundingClientRect().top;";
    let before = b.run(top).await?;
    b.click("#nav-group-admin summary").await?;
    let links = b.texts("#nav-group-admin a").await?;
    ensure!(links.len() == 4 && links[0] == "Users", "open: {links:?}");
    let after = b.run(top).await?;
    ensure!(
        before == after,
        "the dropdown pushed the page: {before} -> {after}"
    );
    b.screenshot("menu-open.png").await?;
    b.click("#nav-group-admin summary").await?;
    Ok(())
}

/// The permission field of the group form, driven by keyboard: the label
/// names the combobox, typing filters the list, Down and Enter pick,
/// Backspace in the empty input removes the last chip, Escape closes.
async fn multiselect_filters_and_picks_by_keyboard(b: &Browser) -> Step {
    let field = "#permission_ids";
    let label = b
        .find("label[for=permission_ids]")
        .await?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    ensure!(!label.is_empty(), "the label names the combobox");
    b.click(field).await?;
    b.keys(field, "permission").await?;
    let shown = b.texts(".kms-list [role=option]").await?;
    ensure!(
        shown.len() >= 2 && shown.iter().all(|o| o.contains("permission")),
        "filtered: {shown:?}"
    );
    let expanded = b.find(field).await?.attr("aria-expanded").await;
    ensure!(
        expanded.ok().flatten().as_deref() == Some("true"),
        "the list is open"
    );
    // Down moves to the second match; Enter picks it.
    b.keys(field, &Key::Down.to_string()).await?;
    b.keys(field, &Key::Enter.to_string()).await?;
    let picked = b.chosen(field).await?;
    ensure!(
        picked == [shown[1].clone()],
        "picked {picked:?} of {shown:?}"
    );
    ensure!(
        !b.texts(".kms-list [role=option]")
            .await?
            .contains(&shown[1]),
        "a chosen item leaves the list"
    );
    b.screenshot("multiselect.png").await?;
    // Backspace in the empty input removes it again; its chip has a remove
    // button named after it.
    let remove = b
        .find(".kms-chip .kms-remove")
        .await?
        .attr("aria-label")
        .await;
    ensure!(
        remove.ok().flatten() == Some(format!("Remove {}", shown[1])),
        "the chip's button is named"
    );
    b.keys(field, &Key::Backspace.to_string()).await?;
    ensure!(b.chosen(field).await?.is_empty(), "removed by Backspace");
    b.keys(field, "no such thing").await?;
    ensure!(
        b.texts(".kms-list .kms-none").await? == ["No matches"],
        "nothing matches"
    );
    b.keys(field, &Key::Escape.to_string()).await?;
    let expanded = b.find(field).await?.attr("aria-expanded").await;
    ensure!(
        expanded.ok().flatten().as_deref() == Some("false"),
        "Escape closes the list"
    );
    b.find(field)
        .await?
        .clear()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// The verification link in the mail the demo wrote for `to`.
fn mailed_link(outbox: &Path, to: &str) -> Step<String> {
    let dir = std::fs::read_dir(outbox).map_err(|e| format!("{}: {e}", outbox.display()))?;
    let mails: Vec<Received> = dir
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .map(|raw| Received {
            from: String::new(),
            to: Vec::new(),
            raw,
        })
        .filter(|m| String::from_utf8_lossy(&m.raw).contains(&format!("To: {to}")))
        .collect();
    ensure!(mails.len() == 1, "{} mails to {to}", mails.len());
    Ok(mails[0].link())
}

async fn superuser_creates_a_user_who_verifies_and_logs_in(b: &Browser, outbox: &Path) -> Step {
    // The login page, then the superuser logs in and sees the admin menu.
    b.open("/login").await?;
    b.find("#login-form").await?;
    b.screenshot("login.png").await?;
    b.fits_at_both_widths("login").await?;
    b.log_in(ADMIN, ADMIN_PASSWORD).await?;
    // The admin group is closed until clicked (its links are hidden).
    ensure!(
        b.texts("#nav-group-admin a").await? == ["", "", "", ""],
        "closed"
    );
    b.click("#nav-group-admin summary").await?;
    let admin = b.texts("#nav-group-admin a").await?;
    ensure!(
        admin == ["Users", "Groups", "Bundles", "Permissions"],
        "admin menu: {admin:?}"
    );

    // The group, through the menu.
    b.click("#nav-group-admin a[href='/groups']").await?;
    b.until_on("/groups").await?;
    b.click("a.add-link").await?;
    b.until_on("/groups/add").await?;
    b.fill("#name", "Analysts").await?;
    multiselect_filters_and_picks_by_keyboard(b).await?;
    b.choose("#permission_ids", "permission1").await?;
    ensure!(
        b.chosen("#permission_ids").await? == ["permission1"],
        "the form posts permission1 alone"
    );
    b.click("#crud-form button[type=submit]").await?;
    b.until_on("/groups").await?;
    let flashes = b.texts(".flash-success").await?;
    ensure!(
        flashes == ["Successfully created Group"],
        "after adding the group: {flashes:?}"
    );
    ensure!(b.text().await?.contains("Analysts"), "the group is listed");

    // The user in that group: no password field, the demo mails a link.
    b.open("/users/add").await?;
    b.fill("#email", ANN).await?;
    b.fill("#name", "Ann").await?;
    b.choose("#group_ids", "Analysts").await?;
    b.click("#crud-form button[type=submit]").await?;
    b.until_on("/users").await?;
    let flashes = b.texts(".flash-success").await?;
    ensure!(
        flashes == ["Successfully created User"],
        "after adding the user: {flashes:?}"
    );
    ensure!(b.text().await?.contains(ANN), "ann is listed");
    b.screenshot("users.png").await?;
    admin_pages_fit_and_menus_drop_down(b).await?;

    // Log out through the menu's link and the confirmation form.
    b.click("a[href='/logout']").await?;
    b.until_on("/logout").await?;
    b.click("#logout-form button[type=submit]").await?;
    b.until_off("/logout").await?;
    b.open("/secret1").await?;
    b.until_on("/login").await?;

    // The emailed link, a password, and a login as ann.
    let link = mailed_link(outbox, ANN)?;
    ensure!(
        link.starts_with(&format!("{}/verify-account/", b.base)),
        "link: {link}"
    );
    b.open(&link).await?;
    b.fill("#password", ANN_PASSWORD).await?;
    b.fill("#confirm", ANN_PASSWORD).await?;
    b.click("#set-password-form button[type=submit]").await?;
    b.until_on("/login").await?;
    let flashes = b.texts(".flash-success").await?;
    ensure!(
        flashes == ["Account activated. Please login below."],
        "after setting the password: {flashes:?}"
    );
    b.log_in(ANN, ANN_PASSWORD).await?;

    // Her menu: her secret, no admin group; the server agrees.
    b.click("#nav-group-secrets summary").await?;
    let menu = b.texts("#menu a").await?;
    ensure!(
        menu.iter().any(|l| l == "Secret 2") && !menu.iter().any(|l| l == "Users"),
        "ann's menu: {menu:?}"
    );
    ensure!(b.find("#nav-group-admin").await.is_err(), "no admin group");
    b.open("/secret2").await?;
    let secret = b
        .find("#secret")
        .await?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    ensure!(secret == "secret2", "/secret2 shows its page: {secret}");
    ensure!(
        b.find("#demo-layout").await.is_ok(),
        "/secret2 is in the demo's layout"
    );
    ensure!(b.status_of("/secret2").await? == 200, "/secret2 is 200");
    ensure!(b.status_of("/users").await? == 403, "/users is 403");
    b.open("/users").await?;
    ensure!(
        b.text().await?.contains("You do not have permission"),
        "/users shows the forbidden page: {}",
        b.text().await?
    );
    Ok(())
}

/// The demo and a browser on it, for one test.
struct Harness {
    browser: Browser,
    server: Running,
    chromedriver: Running,
    profile: PathBuf,
    artifacts: PathBuf,
    db: TempDb,
    /// Where ChromeDriver listens, for more browsers.
    driver_url: String,
    chromium: PathBuf,
}

/// Start the demo (settings `extra` besides `server_name`, served as
/// `host`, with the superuser ADMIN made by the CLI), ChromeDriver and a
/// headless Chromium; `None` (with a notice) when they are not installed,
/// except under `CI=true`.
async fn launch(name: &str, host: &str, extra: &str) -> Option<Harness> {
    let (Some(chromium), Some(driver)) = (
        program(
            "KEGAUTH_CHROMIUM",
            &["/usr/lib/chromium/chromium", "chromium", "google-chrome"],
        ),
        program("KEGAUTH_CHROMEDRIVER", &["chromedriver"]),
    ) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Chromium or ChromeDriver is missing (apt-get install chromium chromium-driver)"
        );
        eprintln!(
            "notice: chromium/chromedriver are not installed; skipping the browser test \
             (apt-get install chromium chromium-driver)"
        );
        return None;
    };
    // Each test's screenshots and logs in a folder of its own.
    let artifacts = artifacts().join(name);
    std::fs::create_dir_all(&artifacts).expect("create the test's artifacts folder");
    let db = TempDb::new();
    let secret = random_secret();
    let port = free_port();
    let settings = format!("server_name=\"{host}:{port}\"{extra}");

    // The first superuser, from the CLI.
    let cli = |args: &[&str], stdin: &str| {
        let out = demo_auth(&db, &secret, &settings, args, stdin);
        assert!(
            out.status.success(),
            "auth {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    cli(&["create-user", ADMIN, "--as-superuser", "--no-mail"], "");
    let typed = format!("{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n");
    cli(&["set-password", ADMIN], &typed);

    let mut server = demo_command(&db, &secret, &settings);
    server
        .env("ROCKET_ADDRESS", "127.0.0.1")
        .env("ROCKET_PORT", port.to_string())
        .env("ROCKET_CLI_COLORS", "false");
    let mut server = Running::spawn("the demo", server, artifacts.join("demo.log"));
    let driver_port = free_port();
    let mut chromedriver = Command::new(driver);
    chromedriver.arg(format!("--port={driver_port}"));
    let mut chromedriver = Running::spawn(
        "chromedriver",
        chromedriver,
        artifacts.join("chromedriver.log"),
    );
    server.until_listening(port).await;
    chromedriver.until_listening(driver_port).await;

    let driver_url = format!("http://127.0.0.1:{driver_port}");
    let (client, profile) = connect(&driver_url, &chromium)
        .await
        .unwrap_or_else(|e| panic!("a browser session: {e}\n{}", chromedriver.log()));
    let browser = Browser {
        client,
        base: format!("http://{host}:{port}"),
        artifacts: artifacts.clone(),
    };
    Some(Harness {
        browser,
        server,
        chromedriver,
        profile,
        artifacts,
        db,
        driver_url,
        chromium,
    })
}

/// A new headless Chromium (a profile of its own: no cookies, like a
/// browser on another machine) through the ChromeDriver at `driver_url`.
async fn connect(driver_url: &str, chromium: &Path) -> Result<(Client, PathBuf), String> {
    let profile = std::env::temp_dir().join(format!("kegauth-chromium-{}", rand::random::<u64>()));
    let capabilities = serde_json::json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("an object literal")
    };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver_url)
        .await
        .map_err(|e| e.to_string())?;
    Ok((client, profile))
}

impl Harness {
    /// Close the browser; on a failed step, keep a screenshot and the page
    /// and fail with the demo's log.
    async fn finish(self, result: Step) {
        let Harness {
            browser,
            server,
            chromedriver,
            profile,
            artifacts,
            db: _db,
            ..
        } = self;
        if result.is_err() {
            let _ = browser.screenshot("failure.png").await;
            if let Ok(html) = browser.client.source().await {
                let _ = std::fs::write(artifacts.join("failure.html"), html);
            }
        }
        let _ = browser.client.close().await;
        drop(chromedriver);
        let _ = std::fs::remove_dir_all(&profile);
        if let Err(step) = result {
            panic!(
                "{step}\n(screenshot and page in {})\nthe demo's log:\n{}",
                artifacts.display(),
                server.log()
            );
        }
    }
}

#[tokio::test]
async fn in_a_browser_a_superuser_adds_a_user_who_verifies_and_logs_in() {
    let Some(h) = launch("users", "127.0.0.1", ",passkeys=false").await else {
        return;
    };
    let result =
        superuser_creates_a_user_who_verifies_and_logs_in(&h.browser, &h.db.mail_dir()).await;
    let artifacts = h.artifacts.clone();
    h.finish(result).await;
    for shot in ["login.png", "users.png"] {
        let size = std::fs::metadata(artifacts.join(shot))
            .map(|m| m.len())
            .ok();
        assert!(size.is_some_and(|n| n > 1000), "{shot}: {size:?}");
    }
}

impl Harness {
    /// Another browser on the demo (a fresh profile: no cookies).
    async fn another_browser(&self, name: &str) -> Step<(Browser, PathBuf)> {
        let (client, profile) = connect(&self.driver_url, &self.chromium).await?;
        let browser = Browser {
            client,
            base: self.browser.base.clone(),
            artifacts: self.artifacts.join(name),
        };
        std::fs::create_dir_all(&browser.artifacts).map_err(|e| e.to_string())?;
        Ok((browser, profile))
    }
}

impl Browser {
    /// Log in through the form, ticking "remember me" when `remember`.
    async fn log_in_remembered(&self, login: &str, password: &str, remember: bool) -> Step {
        self.open("/login").await?;
        self.fill("#login_id", login).await?;
        self.fill("#password", password).await?;
        if remember {
            self.click("#remember_me").await?;
        }
        self.click("#login-form button[type=submit]").await?;
        self.until_on("/").await
    }

    /// Who the demo's home page says is logged in.
    async fn who_at_home(&self) -> Step<String> {
        self.open("/").await?;
        self.who().await
    }

    /// The cookies a browser restart keeps: those with an expiry.
    async fn persistent_cookies(&self) -> Step<Vec<fantoccini::cookies::Cookie<'static>>> {
        let all = self
            .client
            .get_all_cookies()
            .await
            .map_err(|e| e.to_string())?;
        Ok(all
            .into_iter()
            .filter(|c| c.expires().is_some_and(|e| e.is_datetime()))
            .collect())
    }

    /// Put `cookies` in this browser (as a restarted browser has them).
    async fn restore(&self, cookies: Vec<fantoccini::cookies::Cookie<'static>>) -> Step {
        self.open("/login").await?;
        for c in cookies {
            self.client
                .add_cookie(c)
                .await
                .map_err(|e| format!("add a cookie: {e}"))?;
        }
        Ok(())
    }
}

/// Remember me across a browser restart, and the sessions page: the
/// remembered login's cookies in a new browser still log it in, a login
/// without the box does not survive; ending a session on the account page
/// logs that browser out and leaves the other logged in.
async fn remember_me_and_the_sessions_page(
    h: &Harness,
    others: &mut Vec<(Browser, PathBuf)>,
) -> Step {
    let b = &h.browser;
    b.open("/login").await?;
    let label = b.text().await?;
    ensure!(
        label.contains("Remember me on this device for 30 days"),
        "the box: {label}"
    );
    b.log_in_remembered(ADMIN, ADMIN_PASSWORD, true).await?;
    let kept = b.persistent_cookies().await?;
    ensure!(
        !kept.is_empty(),
        "a remembered login leaves a persistent cookie"
    );

    // The other browsers, made first (closed by the caller whatever happens).
    for name in ["plain", "restarted", "restarted-plain"] {
        others.push(h.another_browser(name).await?);
    }
    let plain = &others[0].0;
    plain
        .log_in_remembered(ADMIN, ADMIN_PASSWORD, false)
        .await?;
    let lost = plain.persistent_cookies().await?;
    ensure!(
        lost.iter().all(|c| !c.name().ends_with("kegauth")),
        "a login without the box leaves no persistent session cookie: {lost:?}"
    );

    // "Restart" both: new browsers with what a restart keeps.
    let (restarted, restarted_plain) = (&others[1].0, &others[2].0);
    restarted.restore(kept).await?;
    let who = restarted.who_at_home().await?;
    ensure!(
        who == format!("Logged in as {ADMIN}."),
        "remembered, after a restart: {who}"
    );
    restarted_plain.restore(lost).await?;
    let who = restarted_plain.who_at_home().await?;
    ensure!(
        who == "Not logged in.",
        "not remembered, after a restart: {who}"
    );

    // The sessions page in the first browser: its own and the plain one.
    b.open("/account").await?;
    let rows = b.texts("#account-sessions tr.session").await?;
    ensure!(rows.len() == 2, "two sessions: {rows:?}");
    ensure!(
        b.texts("tr.session.current .this-device").await? == ["(This device)"],
        "this device is marked: {rows:?}"
    );
    b.fits_at_both_widths("account").await?;
    b.click("#account-sessions tr.session:not(.current) button[type=submit]")
        .await?;
    // The same page again, with the answer's message.
    b.until_found(".flash-success").await?;
    b.until_on("/account").await?;
    let flashes = b.texts(".flash-success").await?;
    ensure!(
        flashes == ["That session was logged out."],
        "after ending one: {flashes:?}"
    );
    ensure!(
        b.texts("#account-sessions tr.session").await?.len() == 1,
        "one session left"
    );
    let who = plain.who_at_home().await?;
    ensure!(who == "Not logged in.", "the ended browser: {who}");
    let who = b.who_at_home().await?;
    ensure!(
        who == format!("Logged in as {ADMIN}."),
        "this browser: {who}"
    );
    Ok(())
}

#[tokio::test]
async fn in_a_browser_remember_me_survives_a_restart_and_sessions_end_one_by_one() {
    let Some(h) = launch("sessions", "127.0.0.1", ",passkeys=false").await else {
        return;
    };
    let mut others = Vec::new();
    let result = remember_me_and_the_sessions_page(&h, &mut others).await;
    for (browser, profile) in others {
        let _ = browser.client.close().await;
        let _ = std::fs::remove_dir_all(profile);
    }
    h.finish(result).await;
}

/// A command of WebDriver's WebAuthn extension (ChromeDriver's virtual
/// authenticators): `method` on `session/<id>/webauthn/<path>`.
#[derive(Debug)]
struct WebAuthn {
    method: http::Method,
    path: String,
    body: Option<serde_json::Value>,
}

impl fantoccini::wd::WebDriverCompatibleCommand for WebAuthn {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/webauthn/{}", self.path))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            self.method.clone(),
            self.body.as_ref().map(|b| b.to_string()),
        )
    }
}

impl Browser {
    async fn webauthn(
        &self,
        method: http::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Step<serde_json::Value> {
        let path = path.to_string();
        self.client
            .issue_cmd(WebAuthn {
                method,
                path: path.clone(),
                body,
            })
            .await
            .map_err(|e| format!("webauthn/{path}: {e}"))
    }

    /// A virtual platform authenticator (a passkey provider that verifies
    /// its user): its id.
    async fn add_authenticator(&self) -> Step<String> {
        self.authenticator(serde_json::json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        }))
        .await
    }

    /// A virtual USB security key (no user verification): its id.
    async fn add_security_key(&self) -> Step<String> {
        self.authenticator(serde_json::json!({
            "protocol": "ctap2",
            "transport": "usb",
            "hasResidentKey": false,
            "hasUserVerification": false,
        }))
        .await
    }

    async fn authenticator(&self, options: serde_json::Value) -> Step<String> {
        let id = self
            .webauthn(http::Method::POST, "authenticator", Some(options))
            .await?;
        id.as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("authenticator id: {id}"))
    }

    async fn remove_authenticator(&self, id: &str) -> Step {
        self.webauthn(http::Method::DELETE, &format!("authenticator/{id}"), None)
            .await
            .map(drop)
    }

    /// Give the virtual authenticator `id` the credential `credential` (as
    /// [`credentials`](Self::credentials) gave it, private key included).
    async fn add_credential(&self, id: &str, credential: &serde_json::Value) -> Step {
        self.webauthn(
            http::Method::POST,
            &format!("authenticator/{id}/credential"),
            Some(credential.clone()),
        )
        .await
        .map(drop)
    }

    /// The credentials the virtual authenticator `id` holds.
    async fn credentials(&self, id: &str) -> Step<Vec<serde_json::Value>> {
        let all = self
            .webauthn(
                http::Method::GET,
                &format!("authenticator/{id}/credentials"),
                None,
            )
            .await?;
        all.as_array()
            .cloned()
            .ok_or_else(|| format!("credentials: {all}"))
    }

    /// Submit the passkey form `form` and wait (up to 10s) until the
    /// browser shows a new page on `path`; on a failure, what the form's
    /// script said.
    async fn passkey(&self, form: &str, path: &str) -> Step {
        self.submit(&format!("{form} button[type=submit]"), form, path)
            .await
    }

    /// Click `button` and wait (up to 10s) until the browser shows a new
    /// page on `path`; on a failure, what the script of the passkey form
    /// `form` said.
    async fn submit(&self, button: &str, form: &str, path: &str) -> Step {
        // The page before is marked: the new one is not.
        self.client
            .execute("document.body.dataset.before = '1';", Vec::new())
            .await
            .map_err(|e| e.to_string())?;
        self.click(button).await?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let said = format!("{form} .passkey-status[data-error]");
        loop {
            if let Ok(status) = self.client.find(Locator::Css(&said)).await {
                let error = status.attr("data-error").await.ok().flatten();
                return Err(format!("the passkey script said: {error:?}"));
            }
            let new_page = self
                .client
                .find(Locator::Css("body:not([data-before])"))
                .await
                .is_ok();
            if new_page && self.path().await? == path {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "expected a new page on {path}, still on {}",
                self.path().await?
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn who(&self) -> Step<String> {
        self.find("#who")
            .await?
            .text()
            .await
            .map_err(|e| e.to_string())
    }

    async fn log_out(&self) -> Step {
        self.open("/logout").await?;
        self.click("#logout-form button[type=submit]").await?;
        // The logout's answer first (opening a page at once could cancel it).
        self.until_off("/logout").await?;
        self.open("/secret1").await?;
        self.until_on("/login").await
    }
}

async fn passkeys_register_sign_in_and_serve_as_second_factor(b: &Browser) -> Step {
    let authenticator = b.add_authenticator().await?;

    // A passkey from the account page, after a password login.
    b.log_in(ADMIN, ADMIN_PASSWORD).await?;
    b.open("/account/two-factor").await?;
    b.find("#passkey-add-form").await?;
    b.fill("#passkey-name", "Laptop").await?;
    b.select("#passkey-kind", "Passkey: sign in without a password")
        .await?;
    b.passkey("#passkey-add-form", "/account/passkeys").await?;
    let flashes = b.texts(".flash-success").await?;
    ensure!(flashes == ["Passkey added."], "after adding: {flashes:?}");
    let codes = b.texts("#recovery-codes li").await?;
    ensure!(codes.len() == 10, "recovery codes shown once: {codes:?}");
    let listed = b.texts("#passkey-list .passkey-name").await?;
    ensure!(listed == ["Laptop"], "the account lists it: {listed:?}");
    b.screenshot("passkeys.png").await?;
    let held = b.credentials(&authenticator).await?;
    ensure!(
        held.len() == 1 && held[0]["isResidentCredential"] == true,
        "the authenticator holds one discoverable credential: {held:?}"
    );
    ensure!(
        held[0]["rpId"] == "localhost",
        "bound to server_name's host: {held:?}"
    );

    // Signing in with it: no login id, no password.
    b.log_out().await?;
    b.open("/login?next=/secret1").await?;
    b.passkey("#passkey-login-form", "/secret1").await?;
    b.open("/").await?;
    ensure!(
        b.who().await? == format!("Logged in as {ADMIN}."),
        "after the passkey login: {}",
        b.who().await?
    );
    let signed = b.credentials(&authenticator).await?;
    ensure!(
        signed[0]["signCount"].as_u64() > held[0]["signCount"].as_u64(),
        "the assertion was counted: {signed:?}"
    );

    // A security key as well, on a USB key of its own (the laptop's
    // authenticator is excluded: it holds a credential of this account
    // already). Adding to an account with a second factor takes the
    // password again.
    let laptop = b.credentials(&authenticator).await?;
    b.remove_authenticator(&authenticator).await?;
    let usb = b.add_security_key().await?;
    b.open("/account/two-factor").await?;
    b.fill("#passkey-name", "Key").await?;
    b.select(
        "#passkey-kind",
        "Security key: a second step after the password",
    )
    .await?;
    b.fill("#passkey-password", ADMIN_PASSWORD).await?;
    b.passkey("#passkey-add-form", "/account/two-factor")
        .await?;
    let flashes = b.texts(".flash-success").await?;
    ensure!(
        flashes == ["Passkey added."],
        "after adding the key: {flashes:?}"
    );
    let listed = b.texts("#passkey-list .passkey-name").await?;
    ensure!(listed == ["Laptop", "Key"], "both listed: {listed:?}");
    let key = b.credentials(&usb).await?;
    ensure!(
        key.len() == 1 && key[0]["isResidentCredential"] == false,
        "the security key's credential is not discoverable: {key:?}"
    );

    // The password now takes a second step, and the security key answers it.
    b.log_out().await?;
    b.open("/login").await?;
    b.fill("#login_id", ADMIN).await?;
    b.fill("#password", ADMIN_PASSWORD).await?;
    b.click("#login-form button[type=submit]").await?;
    b.until_on("/login/verify").await?;
    b.passkey("#passkey-verify-form", "/").await?;
    ensure!(
        b.who().await? == format!("Logged in as {ADMIN}."),
        "after the second step: {}",
        b.who().await?
    );
    let used = b.credentials(&usb).await?;
    ensure!(
        used[0]["signCount"].as_u64() > key[0]["signCount"].as_u64(),
        "the security key signed the second step: {used:?}"
    );

    // The laptop's passkey removed from the account page: the laptop still
    // holds it, and the login page refuses it.
    b.open("/account/two-factor").await?;
    b.fill(".passkey-delete-form input[name=password]", ADMIN_PASSWORD)
        .await?;
    b.submit(
        ".passkey-delete-form button[type=submit]",
        "#passkey-add-form",
        "/account/two-factor",
    )
    .await?;
    let flashes = b.texts(".flash-success").await?;
    ensure!(
        flashes == ["Passkey removed."],
        "after removing: {flashes:?}"
    );
    let listed = b.texts("#passkey-list .passkey-name").await?;
    ensure!(
        listed == ["Laptop", "Key"][1..],
        "the key is left: {listed:?}"
    );
    b.remove_authenticator(&usb).await?;
    let authenticator = b.add_authenticator().await?;
    b.add_credential(&authenticator, &laptop[0]).await?;
    b.log_out().await?;
    b.open("/login").await?;
    b.submit(
        "#passkey-login-form button[type=submit]",
        "#passkey-login-form",
        "/login",
    )
    .await?;
    let errors = b.texts(".flash-error").await?;
    ensure!(
        errors == ["The passkey was not accepted."],
        "a removed passkey: {errors:?}"
    );
    ensure!(b.find("#who").await.is_err(), "not logged in");
    Ok(())
}

#[tokio::test]
async fn in_a_browser_passkeys_register_sign_in_and_serve_as_second_factor() {
    // WebAuthn takes domain names only: the demo is served as localhost.
    let Some(h) = launch("passkeys", "localhost", ",passkeys=true").await else {
        return;
    };
    let result = passkeys_register_sign_in_and_serve_as_second_factor(&h.browser).await;
    h.finish(result).await;
}
