//! Passkeys and security keys in the store (`kegauth_passkeys`): register,
//! list, find by credential id, record a use, delete.

use super::*;
use crate::core::ddl::PASSKEYS;
use crate::core::passkeys::{NewPasskey, PasskeyKind, StoredPasskey, NAME_MAX_CHARS};
use sha2::{Digest, Sha256};

/// Most credentials one user may register.
pub const MAX_PASSKEYS_PER_USER: usize = 20;

fn digest(credential_id: &[u8]) -> String {
    Sha256::digest(credential_id)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const COLUMNS: [&str; 9] = [
    "id",
    "user_id",
    "credential_id",
    "user_handle",
    "public_key",
    "sign_state",
    "transports",
    "name",
    "kind",
];

const OUT: [OutCol; 9] = [
    OutCol { kind: Kind::Int },
    OutCol { kind: Kind::Int },
    OutCol { kind: Kind::Bytes },
    OutCol { kind: Kind::Bytes },
    OutCol { kind: Kind::Bytes },
    OutCol { kind: Kind::Bytes },
    OutCol { kind: Kind::Int },
    OutCol { kind: Kind::Text },
    OutCol { kind: Kind::Text },
];

fn from_row(row: Vec<Value>) -> Option<StoredPasskey> {
    let mut it = row.into_iter();
    let mut int = || match it.next() {
        Some(Value::Int(n)) => Some(n),
        _ => None,
    };
    let (id, user_id) = (int()?, int()?);
    let mut bytes = || match it.next() {
        Some(Value::Bytes(b)) => Some(b),
        _ => None,
    };
    let (credential_id, user_handle, public_key, sign_state) =
        (bytes()?, bytes()?, bytes()?, bytes()?);
    let transports = match it.next() {
        Some(Value::Int(n)) => u8::try_from(n).ok()?,
        _ => return None,
    };
    let mut text = || match it.next() {
        Some(Value::Text(s)) => Some(s),
        _ => None,
    };
    let (name, kind) = (text()?, text()?);
    Some(StoredPasskey {
        id,
        user_id,
        credential_id,
        user_handle,
        public_key,
        sign_state,
        transports,
        name,
        kind: PasskeyKind::parse(&kind)?,
    })
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Count passkeys among a user's second factors (and read their table):
    /// the `AuthManager` turns this on with the `passkeys` setting.
    pub fn with_passkeys(mut self, on: bool) -> Self {
        self.passkeys = on;
        self
    }

    /// Whether passkeys are on (see [`with_passkeys`](Self::with_passkeys)).
    pub fn passkeys_on(&self) -> bool {
        self.passkeys
    }

    fn select_passkeys() -> Sql<DB> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.idents(COLUMNS).push(" FROM ").ident(PASSKEYS);
        sql
    }

    async fn fetch_passkeys(&self, sql: Sql<DB>) -> Result<Vec<StoredPasskey>> {
        let rows = DB::fetch(&mut *self.conn().await?, &sql.text, sql.args, &OUT).await?;
        Ok(rows.into_iter().filter_map(from_row).collect())
    }

    /// `user_id`'s passkeys and security keys, oldest first.
    pub async fn passkeys(&self, user_id: i64) -> Result<Vec<StoredPasskey>> {
        if !self.passkeys {
            return Ok(Vec::new());
        }
        let mut sql = Self::select_passkeys();
        sql.push(" WHERE ")
            .ident("user_id")
            .push(" = ")
            .bind_int(user_id)
            .push(" ORDER BY ")
            .ident("id");
        self.fetch_passkeys(sql).await
    }

    /// The credential whose id is `credential_id`, if registered.
    pub async fn passkey_by_credential(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<StoredPasskey>> {
        let mut sql = Self::select_passkeys();
        sql.push(" WHERE ")
            .ident("credential_digest")
            .push(" = ")
            .bind_text(&digest(credential_id));
        Ok(self
            .fetch_passkeys(sql)
            .await?
            .into_iter()
            .find(|p| p.credential_id == credential_id))
    }

    /// The user handle `user_id`'s credentials are registered under: the
    /// one of their first credential, or a new random one.
    pub async fn passkey_user_handle(&self, user_id: i64) -> Result<Vec<u8>> {
        Ok(self
            .passkeys(user_id)
            .await?
            .into_iter()
            .next()
            .map(|p| p.user_handle)
            .unwrap_or_else(crate::core::passkeys::new_user_handle))
    }

    /// Keep `passkey`, a credential `user_id` just registered, named `name`.
    /// A credential registered before (by anyone) is an
    /// [`Error::Conflict`]; a name that is empty or too long, or a user who
    /// has [`MAX_PASSKEYS_PER_USER`] already, an [`Error::Invalid`].
    pub async fn add_passkey(
        &self,
        user_id: i64,
        name: &str,
        kind: PasskeyKind,
        passkey: &NewPasskey,
    ) -> Result<i64> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
            return Err(Error::Invalid(format!(
                "a passkey's name takes 1 to {NAME_MAX_CHARS} characters"
            )));
        }
        if self.passkeys(user_id).await?.len() >= MAX_PASSKEYS_PER_USER {
            return Err(Error::Invalid(format!(
                "at most {MAX_PASSKEYS_PER_USER} passkeys per user"
            )));
        }
        // The columns read back (but the id), then the digest and the time.
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(PASSKEYS).push(" (");
        sql.idents(
            COLUMNS[1..]
                .iter()
                .copied()
                .chain(["credential_digest", "created_at"]),
        );
        sql.push(") VALUES (").bind_int(user_id).push(", ");
        for b in [
            &passkey.credential_id,
            &passkey.user_handle,
            &passkey.public_key,
            &passkey.sign_state,
        ] {
            sql.bind(Value::Bytes(b.clone()), Kind::Bytes).push(", ");
        }
        sql.bind_int(i64::from(passkey.transports)).push(", ");
        sql.bind_text(name).push(", ");
        sql.bind_text(kind.as_str()).push(", ");
        sql.bind_text(&digest(&passkey.credential_id)).push(", ");
        sql.bind(Value::DateTime(self.now()), Kind::DateTime)
            .push(")");
        let mut tx = self.begin_write().await?;
        let id = DB::insert(&mut tx, &sql.text, sql.args, "id")
            .await
            .map_err(|e| map_unique(e, || "this passkey".to_string()))?;
        self.commit(tx, Notice::Users(&[user_id])).await?;
        self.audit(
            crate::core::audit::AuditEvent::new(
                crate::core::audit::kinds::PASSKEY_ADDED,
                crate::core::audit::Outcome::Success,
            )
            .actor(user_id)
            .subject(crate::core::audit::Subject::User(user_id))
            .detail(serde_json::json!({ "name": name, "kind": kind.as_str() })),
        );
        Ok(id)
    }

    /// Record a use of passkey `id`: its new counter and flags, only if the
    /// stored ones are still `before` (two requests with one assertion:
    /// exactly one wins). Whether it was recorded.
    pub async fn record_passkey_use(
        &self,
        id: i64,
        before: &[u8],
        sign_state: &[u8],
    ) -> Result<bool> {
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(PASSKEYS)
            .push(" SET ")
            .ident("sign_state")
            .push(" = ");
        sql.bind(Value::Bytes(sign_state.to_vec()), Kind::Bytes)
            .push(", ")
            .ident("last_used_at")
            .push(" = ");
        sql.bind(Value::DateTime(self.now()), Kind::DateTime)
            .push(" WHERE ")
            .ident("id")
            .push(" = ")
            .bind_int(id)
            .push(" AND ")
            .ident("sign_state")
            .push(" = ");
        sql.bind(Value::Bytes(before.to_vec()), Kind::Bytes);
        // (An authenticator without a counter keeps its state: then only the
        // ceremony's single-use challenge stands against a replay.)
        Ok(DB::execute(&mut *self.conn().await?, &sql.text, sql.args).await? == 1)
    }

    /// Delete `user_id`'s passkey `id`; whether there was one.
    pub async fn delete_passkey(&self, user_id: i64, id: i64) -> Result<bool> {
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(PASSKEYS)
            .push(" WHERE ")
            .ident("id")
            .push(" = ")
            .bind_int(id)
            .push(" AND ")
            .ident("user_id")
            .push(" = ")
            .bind_int(user_id);
        let mut tx = self.begin_write().await?;
        let gone = DB::execute(&mut tx, &sql.text, sql.args).await? == 1;
        self.commit(tx, Notice::Users(&[user_id])).await?;
        if gone {
            self.audit(
                crate::core::audit::AuditEvent::new(
                    crate::core::audit::kinds::PASSKEY_REMOVED,
                    crate::core::audit::Outcome::Success,
                )
                .actor(user_id)
                .subject(crate::core::audit::Subject::User(user_id))
                .detail(serde_json::json!({ "passkey": id })),
            );
        }
        Ok(gone)
    }

    /// Delete every passkey of `user_id` (in `conn`, an admin's reset).
    pub(crate) async fn delete_passkeys(
        &self,
        conn: &mut DB::Connection,
        user_id: i64,
    ) -> Result<()> {
        if !self.passkeys {
            return Ok(());
        }
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(PASSKEYS)
            .push(" WHERE ")
            .ident("user_id")
            .push(" = ")
            .bind_int(user_id);
        DB::execute(conn, &sql.text, sql.args).await?;
        Ok(())
    }

    /// Check at launch that the passkeys table can be read.
    pub async fn check_passkeys_table(&self) -> Result<()> {
        self.check_readable(
            PASSKEYS,
            &["user_id", "credential_digest", "sign_state"],
            "passkeys is on (set passkeys = false to go without)",
        )
        .await
    }
}
