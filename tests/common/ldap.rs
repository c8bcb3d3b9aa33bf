//! A real OpenLDAP server (Debian's `slapd`) on a loopback port, with a test
//! directory, for the LDAP authenticator's tests.
//!
//! The binary comes from `KEGAUTH_TEST_SLAPD`, else `slapd` on the PATH or in
//! /usr/sbin. Without one the tests are skipped with a notice, except under
//! `CI=true` (`.ci/run` installs it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SUFFIX: &str = "dc=example,dc=org";
/// The DN format the tests configure.
pub const DN_FORMAT: &str = "uid={},dc=example,dc=org";
/// A user in the directory (login id and password).
pub const SAM: (&str, &str) = ("sam@example.com", "sam-ldap-password");
/// A user in a second directory only (see [`Slapd::start_with`]).
pub const KIM: (&str, &str) = ("kim@example.com", "kim-ldap-password");
/// An entry below `ou=admins`, which `DN_FORMAT` cannot reach unless a login id injects RDNs.
pub const ADMIN: (&str, &str) = ("a", "admin-ldap-password");

/// An entry's attributes, as `ldap3::Ldap::add` takes them.
type Attrs<'a> = Vec<(&'a str, std::collections::HashSet<&'a str>)>;

pub struct Slapd {
    child: Child,
    dir: PathBuf,
    pub url: String,
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn find_slapd() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("KEGAUTH_TEST_SLAPD") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("slapd"))
        .find(|p| p.exists())
}

/// A port nobody listens on (for "server down" cases).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

fn write_config(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir.join("db"))?;
    let conf = dir.join("slapd.conf");
    let mut f = std::fs::File::create(&conf)?;
    write!(
        f,
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         modulepath /usr/lib/ldap\n\
         moduleload back_mdb\n\
         pidfile {dir}/slapd.pid\n\
         # Accept unauthenticated binds (a DN with an empty password), as\n\
         # many directories do: kegauth must refuse empty passwords itself.\n\
         allow bind_anon_dn bind_anon_cred\n\
         database mdb\n\
         maxsize 10485760\n\
         suffix \"{SUFFIX}\"\n\
         rootdn \"cn=admin,{SUFFIX}\"\n\
         rootpw admin-secret\n\
         directory {dir}/db\n",
        dir = dir.display()
    )?;
    Ok(conf)
}

impl Slapd {
    /// Start slapd with the test directory, or `None` (with a notice) when
    /// there is no slapd outside CI.
    pub async fn start() -> Option<Slapd> {
        Slapd::start_with(&[SAM]).await
    }

    /// As [`Slapd::start`], with these people (login id, password) below
    /// the suffix instead of [`SAM`] ([`ADMIN`] is always there).
    pub async fn start_with(people: &[(&str, &str)]) -> Option<Slapd> {
        let Some(bin) = find_slapd() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but slapd is missing: the LDAP tests must run in CI");
            }
            let _ = writeln!(
                std::io::stderr(),
                "notice: slapd is not installed; skipping the LDAP tests (apt-get install slapd)"
            );
            return None;
        };
        let dir = std::env::temp_dir().join(format!("kegauth-slapd-{:x}", rand::random::<u64>()));
        let conf = write_config(&dir).expect("write slapd.conf");
        let port = closed_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(format!("{url}/"))
            .arg("-d")
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start slapd at {} (KEGAUTH_TEST_SLAPD names the binary): {e}",
                    bin.display()
                )
            });
        let server = Slapd { child, dir, url };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "slapd did not start on {}",
                server.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.populate(people).await;
        Some(server)
    }

    async fn populate(&self, people: &[(&str, &str)]) {
        let (conn, mut ldap) = ldap3::LdapConnAsync::new(&self.url)
            .await
            .expect("connect to slapd");
        ldap3::drive!(conn);
        ldap.simple_bind(&format!("cn=admin,{SUFFIX}"), "admin-secret")
            .await
            .and_then(|r| r.success())
            .expect("bind as the directory admin");
        fn person<'a>(uid: &'a str, password: &'a str) -> Attrs<'a> {
            vec![
                ("objectClass", ["inetOrgPerson"].into()),
                ("uid", [uid].into()),
                ("cn", [uid].into()),
                ("sn", [uid].into()),
                ("userPassword", [password].into()),
            ]
        }
        let mut entries: Vec<(String, Attrs<'_>)> = vec![
            (
                SUFFIX.into(),
                vec![
                    ("objectClass", ["dcObject", "organization"].into()),
                    ("o", ["Example"].into()),
                    ("dc", ["example"].into()),
                ],
            ),
            (
                format!("ou=admins,{SUFFIX}"),
                vec![
                    ("objectClass", ["organizationalUnit"].into()),
                    ("ou", ["admins"].into()),
                ],
            ),
            (
                format!("uid={},ou=admins,{SUFFIX}", ADMIN.0),
                person(ADMIN.0, ADMIN.1),
            ),
        ];
        for (uid, password) in people {
            entries.push((format!("uid={uid},{SUFFIX}"), person(uid, password)));
        }
        for (dn, attrs) in entries {
            ldap.add(&dn, attrs)
                .await
                .and_then(|r| r.success())
                .unwrap_or_else(|e| panic!("add {dn}: {e}"));
        }
        let _ = ldap.unbind().await;
    }
}
