//! The one error type of kegauth. How it renders as an HTTP response (in
//! the request's language) is the web layer's: `web/catchers.rs`.

use rocket::http::Status;

/// Everything that can go wrong in kegauth.
///
/// As a Rocket responder it answers with a status and a plain message that
/// never includes database details: 503 when the database cannot be reached,
/// 404/409/400 for not-found, conflicting and invalid input, 500 otherwise.
///
/// ```
/// use kegauth::Error;
/// let err = Error::NotFound("user 7".into());
/// assert_eq!(err.to_string(), "user 7 not found");
/// assert_eq!(err.status(), rocket::http::Status::NotFound);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A column held a value the entity field cannot take.
    #[error("cannot read column `{column}` of table `{table}`: {message}")]
    Decode {
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// Why.
        message: String,
    },
    /// kegauth is set up wrongly (caught at launch where possible).
    #[error("kegauth configuration error: {0}")]
    Config(String),
    /// A row that was asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique value (login id, name, token) is already taken.
    #[error("{0} already exists")]
    Conflict(String),
    /// A row cannot be deleted because other rows refer to it (a foreign key
    /// of the app's own tables); nothing was removed.
    #[error("{0} is referred to by other records")]
    Referenced(String),
    /// Input that cannot be accepted, with a message for the person who typed it.
    #[error("{0}")]
    Invalid(String),
    /// A mail could not be built or delivered.
    #[error("mail error: {0}")]
    Mail(String),
    /// A service kegauth depends on (an LDAP server, say) did not answer.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Password hashing failed, or a stored hash is malformed.
    #[error("password hash error: {0}")]
    Hash(String),
}

impl Error {
    /// The HTTP status this error renders with.
    pub fn status(&self) -> Status {
        match self {
            Error::Database(e) if is_unavailable(e) => Status::ServiceUnavailable,
            Error::Mail(_) | Error::Unavailable(_) => Status::ServiceUnavailable,
            Error::NotFound(_) => Status::NotFound,
            Error::Conflict(_) | Error::Referenced(_) => Status::Conflict,
            Error::Invalid(_) => Status::BadRequest,
            _ => Status::InternalServerError,
        }
    }

    /// Whether the database reported a unique-constraint violation.
    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        match err {
            sqlx::Error::Database(db) => {
                matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation)
            }
            _ => false,
        }
    }

    /// Whether the database reported a foreign-key violation.
    pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
        match err {
            sqlx::Error::Database(db) => {
                matches!(db.kind(), sqlx::error::ErrorKind::ForeignKeyViolation)
            }
            _ => false,
        }
    }
}

pub(crate) fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        // The server dropped the connection or is going away (SQLSTATE class
        // 08, connection exception; 57P01-57P03, an administrator or a crash
        // shut the backend down): an outage, not a bug.
        sqlx::Error::Database(db) => db.code().is_some_and(|code| is_unavailable_sqlstate(&code)),
        _ => false,
    }
}

fn is_unavailable_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

/// kegauth's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    #[test]
    fn connection_sqlstates_are_outages() {
        for code in [
            "08000", "08003", "08006", "08S01", "57P01", "57P02", "57P03",
        ] {
            assert!(super::is_unavailable_sqlstate(code), "{code}");
        }
        for code in ["23505", "42P01", "57014", "40001"] {
            assert!(!super::is_unavailable_sqlstate(code), "{code}");
        }
    }
}
