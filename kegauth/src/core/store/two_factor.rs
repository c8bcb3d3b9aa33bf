//! Second factors in the store: TOTP enrolment, confirmation and checks
//! (`kegauth_two_factor`), recovery codes (`kegauth_recovery_codes`).

use super::*;
use crate::core::ddl::{RECOVERY_CODES, TWO_FACTOR};
use crate::core::two_factor::{generate_recovery_codes, recovery_digest, SecretBox, TotpSecret};

/// A user's second factors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TwoFactorStatus {
    /// A confirmed TOTP authenticator.
    pub totp: bool,
    /// An enrolment waiting for its first code.
    pub totp_pending: bool,
    /// Recovery codes not used yet.
    pub recovery_codes_left: usize,
    /// Passkeys and security keys registered.
    pub passkeys: usize,
}

impl TwoFactorStatus {
    /// Whether logging in takes a second step: TOTP on, or a passkey or
    /// security key registered.
    pub fn enabled(&self) -> bool {
        self.totp || self.passkeys > 0
    }
}

/// How a second-factor code was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactor {
    /// A TOTP code.
    Totp,
    /// A recovery code; this many are left.
    RecoveryCode {
        /// Recovery codes not used yet.
        left: usize,
    },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl<DB: Backend, E: EntitySet> Store<DB, E> {
    /// Seal second-factor secrets with `sealer` (the `AuthManager` keys it
    /// from the app's secret key).
    #[cfg(feature = "two-factor")]
    pub fn with_two_factor_key(mut self, sealer: SecretBox) -> Self {
        self.sealer = Some(Arc::new(sealer));
        self
    }

    fn sealer(&self) -> Result<&SecretBox> {
        self.sealer.as_deref().ok_or_else(|| {
            if cfg!(feature = "two-factor") {
                Error::Config(
                    "no two-factor key: give the store one with with_two_factor_key".into(),
                )
            } else {
                crate::core::config::missing_feature("second factors", "two-factor")
            }
        })
    }

    fn where_user(sql: &mut Sql<DB>, user_id: i64) {
        sql.push(" WHERE ")
            .ident("user_id")
            .push(" = ")
            .bind_int(user_id);
    }

    /// `user_id`'s second factors.
    pub async fn two_factor_status(&self, user_id: i64) -> Result<TwoFactorStatus> {
        let passkeys = self.passkeys(user_id).await?.len();
        let mut conn = self.conn().await?;
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident("confirmed_at").push(" FROM ").ident(TWO_FACTOR);
        Self::where_user(&mut sql, user_id);
        let rows = DB::fetch(
            &mut conn,
            &sql.text,
            sql.args,
            &[OutCol {
                kind: Kind::DateTime,
            }],
        )
        .await?;
        let (totp, totp_pending) = match rows.first().and_then(|r| r.first()) {
            None => (false, false),
            Some(Value::Null) => (false, true),
            Some(_) => (true, false),
        };
        Ok(TwoFactorStatus {
            totp,
            totp_pending,
            recovery_codes_left: self.recovery_codes_left(&mut conn, user_id).await?,
            passkeys,
        })
    }

    /// Whether `user_id` has a confirmed TOTP authenticator (one statement:
    /// what every login asks).
    pub async fn totp_enabled(&self, user_id: i64) -> Result<bool> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident("user_id").push(" FROM ").ident(TWO_FACTOR);
        Self::where_user(&mut sql, user_id);
        sql.push(" AND ").ident("confirmed_at").push(" IS NOT NULL");
        Ok(!Self::ids(&mut *self.conn().await?, sql).await?.is_empty())
    }

    /// Whether `user_id` has a second factor: TOTP on, or (with passkeys on)
    /// a passkey or security key. What every password login asks.
    pub async fn has_second_factor(&self, user_id: i64) -> Result<bool> {
        if self.totp_enabled(user_id).await? {
            return Ok(true);
        }
        if !self.passkeys {
            return Ok(false);
        }
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident("id")
            .push(" FROM ")
            .ident(crate::core::ddl::PASSKEYS);
        Self::where_user(&mut sql, user_id);
        Ok(!Self::ids(&mut *self.conn().await?, sql).await?.is_empty())
    }

    /// Check at launch that the second-factor tables can be read.
    pub async fn check_two_factor_tables(&self) -> Result<()> {
        let because = "two_factor is on (set two_factor = \"off\" to go without)";
        self.check_readable(TWO_FACTOR, &["user_id", "confirmed_at"], because)
            .await?;
        self.check_readable(RECOVERY_CODES, &["user_id", "used_at"], because)
            .await
    }

    async fn recovery_codes_left(&self, conn: &mut DB::Connection, user_id: i64) -> Result<usize> {
        let mut sql = Sql::<DB>::new("SELECT COUNT(*) FROM ");
        sql.ident(RECOVERY_CODES);
        Self::where_user(&mut sql, user_id);
        sql.push(" AND ").ident("used_at").push(" IS NULL");
        let rows = DB::fetch(conn, &sql.text, sql.args, &[OutCol { kind: Kind::Int }]).await?;
        Ok(match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(n)) => usize::try_from(*n).unwrap_or(0),
            _ => 0,
        })
    }

    /// Start a TOTP enrolment for `user_id`: a new secret, kept sealed and
    /// unconfirmed until [`confirm_totp`](Self::confirm_totp) sees a code
    /// from it. A pending enrolment is replaced; a confirmed authenticator is
    /// an [`Error::Conflict`] (turn it off first).
    pub async fn begin_totp(&self, user_id: i64) -> Result<TotpSecret> {
        let secret = TotpSecret::generate();
        let sealed = self.sealer()?.seal(secret.as_bytes())?;
        let mut tx = self.begin_write().await?;
        let status = {
            let mut sql = Sql::<DB>::new("SELECT ");
            sql.ident("confirmed_at").push(" FROM ").ident(TWO_FACTOR);
            Self::where_user(&mut sql, user_id);
            DB::fetch(
                &mut tx,
                &sql.text,
                sql.args,
                &[OutCol {
                    kind: Kind::DateTime,
                }],
            )
            .await?
        };
        match status.first().and_then(|r| r.first()) {
            Some(Value::Null) => {
                let mut sql = Sql::<DB>::new("DELETE FROM ");
                sql.ident(TWO_FACTOR);
                Self::where_user(&mut sql, user_id);
                DB::execute(&mut tx, &sql.text, sql.args).await?;
            }
            Some(_) => {
                return Err(Error::Conflict(
                    "two-factor authentication is already on for this user".into(),
                ))
            }
            None => {}
        }
        let mut sql = Sql::<DB>::new("INSERT INTO ");
        sql.ident(TWO_FACTOR).push(" (");
        sql.idents(["user_id", "totp_secret", "created_at"]);
        sql.push(") VALUES (").bind_int(user_id).push(", ");
        sql.bind(Value::Bytes(sealed), Kind::Bytes).push(", ");
        sql.bind(Value::DateTime(self.now()), Kind::DateTime)
            .push(")");
        DB::execute(&mut tx, &sql.text, sql.args)
            .await
            .map_err(|e| map_unique(e, || format!("the two-factor row of user {user_id}")))?;
        self.commit(tx, Notice::Users(&[user_id])).await?;
        Ok(secret)
    }

    /// The secret of `user_id`'s enrolment waiting for its first code (to
    /// show its QR code again), if there is one.
    pub async fn pending_totp(&self, user_id: i64) -> Result<Option<TotpSecret>> {
        let mut conn = self.conn().await?;
        self.totp_row(&mut conn, user_id, false).await
    }

    /// `user_id`'s TOTP secret, pending or confirmed.
    async fn totp_row(
        &self,
        conn: &mut DB::Connection,
        user_id: i64,
        confirmed: bool,
    ) -> Result<Option<TotpSecret>> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident("totp_secret").push(" FROM ").ident(TWO_FACTOR);
        Self::where_user(&mut sql, user_id);
        sql.push(" AND ").ident("confirmed_at").push(if confirmed {
            " IS NOT NULL"
        } else {
            " IS NULL"
        });
        let rows = DB::fetch(conn, &sql.text, sql.args, &[OutCol { kind: Kind::Bytes }]).await?;
        let Some(Value::Bytes(sealed)) = rows.into_iter().next().and_then(|r| r.into_iter().next())
        else {
            return Ok(None);
        };
        Ok(Some(TotpSecret::from_bytes(
            &self.sealer()?.open(&sealed)?,
        )?))
    }

    /// Record `step` as used, only if no later or equal step was: whether it was
    /// (two requests with one code: exactly one wins, on every backend).
    async fn take_step(&self, conn: &mut DB::Connection, user_id: i64, step: i64) -> Result<bool> {
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(TWO_FACTOR)
            .push(" SET ")
            .ident("last_step")
            .push(" = ")
            .bind_int(step);
        Self::where_user(&mut sql, user_id);
        sql.push(" AND (")
            .ident("last_step")
            .push(" IS NULL OR ")
            .ident("last_step")
            .push(" < ")
            .bind_int(step)
            .push(")");
        Ok(DB::execute(conn, &sql.text, sql.args).await? == 1)
    }

    /// Finish the enrolment [`begin_totp`](Self::begin_totp) started: when
    /// `code` is the pending secret's code now, TOTP is on and `user_id` gets
    /// new recovery codes, returned (shown once; only their digests are
    /// kept). `None`: no pending enrolment, or a wrong code.
    pub async fn confirm_totp(&self, user_id: i64, code: &str) -> Result<Option<Vec<String>>> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let Some(secret) = self.totp_row(&mut tx, user_id, false).await? else {
            return Ok(None);
        };
        let Some(step) = secret.matching_step(code, now.and_utc().timestamp()) else {
            return Ok(None);
        };
        let mut sql = Sql::<DB>::new("UPDATE ");
        sql.ident(TWO_FACTOR)
            .push(" SET ")
            .ident("confirmed_at")
            .push(" = ");
        sql.bind(Value::DateTime(now), Kind::DateTime)
            .push(", ")
            .ident("last_step")
            .push(" = ")
            .bind_int(step);
        Self::where_user(&mut sql, user_id);
        sql.push(" AND ").ident("confirmed_at").push(" IS NULL");
        if DB::execute(&mut tx, &sql.text, sql.args).await? != 1 {
            return Ok(None);
        }
        let codes = self.replace_recovery_codes(&mut tx, user_id).await?;
        self.commit(tx, Notice::Users(&[user_id])).await?;
        self.audit_two_factor(user_id, crate::core::audit::kinds::TWO_FACTOR_ENABLED);
        Ok(Some(codes))
    }

    async fn replace_recovery_codes(
        &self,
        conn: &mut DB::Connection,
        user_id: i64,
    ) -> Result<Vec<String>> {
        let mut sql = Sql::<DB>::new("DELETE FROM ");
        sql.ident(RECOVERY_CODES);
        Self::where_user(&mut sql, user_id);
        DB::execute(conn, &sql.text, sql.args).await?;
        let codes = generate_recovery_codes();
        for code in &codes {
            let digest = recovery_digest(code).map(|d| hex(&d)).unwrap_or_default();
            let mut sql = Sql::<DB>::new("INSERT INTO ");
            sql.ident(RECOVERY_CODES).push(" (");
            sql.idents(["user_id", "digest"]);
            sql.push(") VALUES (")
                .bind_int(user_id)
                .push(", ")
                .bind_text(&digest)
                .push(")");
            DB::execute(conn, &sql.text, sql.args).await?;
        }
        Ok(codes)
    }

    /// New recovery codes for `user_id` (the old ones stop working), for a
    /// user with a second factor; the caller has checked a fresh code or the
    /// password.
    pub async fn regenerate_recovery_codes(&self, user_id: i64) -> Result<Vec<String>> {
        if !self.has_second_factor(user_id).await? {
            return Err(Error::Invalid(
                "recovery codes need two-factor authentication on".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let codes = self.replace_recovery_codes(&mut tx, user_id).await?;
        self.commit(tx, Notice::Users(&[user_id])).await?;
        self.audit_two_factor(
            user_id,
            crate::core::audit::kinds::RECOVERY_CODES_REGENERATED,
        );
        Ok(codes)
    }

    /// Check `code` as `user_id`'s second factor: a TOTP code of a step not
    /// used before (then used), or an unused recovery code (then used).
    /// `None`: wrong, replayed, or no second factor.
    pub async fn check_second_factor(
        &self,
        user_id: i64,
        code: &str,
    ) -> Result<Option<SecondFactor>> {
        let mut conn = self.conn().await?;
        if let Some(digest) = recovery_digest(code) {
            let mut sql = Sql::<DB>::new("UPDATE ");
            sql.ident(RECOVERY_CODES)
                .push(" SET ")
                .ident("used_at")
                .push(" = ");
            sql.bind(Value::DateTime(self.now()), Kind::DateTime);
            Self::where_user(&mut sql, user_id);
            sql.push(" AND ")
                .ident("digest")
                .push(" = ")
                .bind_text(&hex(&digest))
                .push(" AND ")
                .ident("used_at")
                .push(" IS NULL");
            if DB::execute(&mut conn, &sql.text, sql.args).await? != 1 {
                return Ok(None);
            }
            let left = self.recovery_codes_left(&mut conn, user_id).await?;
            self.audit_two_factor(user_id, crate::core::audit::kinds::RECOVERY_CODE_USED);
            return Ok(Some(SecondFactor::RecoveryCode { left }));
        }
        let Some(secret) = self.totp_row(&mut conn, user_id, true).await? else {
            return Ok(None);
        };
        let now = self.now().and_utc().timestamp();
        let Some(step) = secret.matching_step(code, now) else {
            return Ok(None);
        };
        // The step, and every one before it, is taken at most once.
        if !self.take_step(&mut conn, user_id, step).await? {
            log::info!(target: crate::core::AUDIT, "a used TOTP code was refused");
            return Ok(None);
        }
        Ok(Some(SecondFactor::Totp))
    }

    /// Turn `user_id`'s TOTP off: its secret is deleted, and the recovery
    /// codes unless passkeys are left. With `rotate` (an admin's reset)
    /// every second factor goes, passkeys too, and the user's sessions end.
    pub async fn disable_two_factor(&self, user_id: i64, rotate: bool) -> Result<()> {
        let keep_codes = !rotate && !self.passkeys(user_id).await?.is_empty();
        let mut tx = self.begin_write().await?;
        if rotate {
            self.delete_passkeys(&mut tx, user_id).await?;
        }
        let tables: &[&str] = if keep_codes {
            &[TWO_FACTOR]
        } else {
            &[TWO_FACTOR, RECOVERY_CODES]
        };
        for &table in tables {
            let mut sql = Sql::<DB>::new("DELETE FROM ");
            sql.ident(table);
            Self::where_user(&mut sql, user_id);
            DB::execute(&mut tx, &sql.text, sql.args).await?;
        }
        if rotate {
            self.rotate_and_commit(
                tx,
                &[user_id],
                EntityKind::User,
                user_id,
                "two-factor reset",
            )
            .await?;
        } else {
            self.commit(tx, Notice::Users(&[user_id])).await?;
        }
        self.audit_two_factor(user_id, crate::core::audit::kinds::TWO_FACTOR_DISABLED);
        Ok(())
    }

    fn audit_two_factor(&self, user_id: i64, kind: &str) {
        use crate::core::audit::{AuditEvent, Outcome, Subject};
        self.audit(AuditEvent::new(kind, Outcome::Success).subject(Subject::User(user_id)));
    }

    /// The ids of the users with a second factor: a confirmed TOTP
    /// authenticator or a passkey (the admin grid offers to reset theirs).
    pub async fn two_factor_user_ids(&self) -> Result<std::collections::HashSet<i64>> {
        let mut sql = Sql::<DB>::new("SELECT ");
        sql.ident("user_id")
            .push(" FROM ")
            .ident(TWO_FACTOR)
            .push(" WHERE ")
            .ident("confirmed_at")
            .push(" IS NOT NULL");
        if self.passkeys {
            // One statement for both (the users grid asks on every page).
            sql.push(" UNION SELECT ")
                .ident("user_id")
                .push(" FROM ")
                .ident(crate::core::ddl::PASSKEYS);
        }
        Ok(Self::ids(&mut *self.conn().await?, sql)
            .await?
            .into_iter()
            .collect())
    }
}
