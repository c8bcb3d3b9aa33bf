//! The paths of kegauth's own pages that more than one layer names: the
//! login page (where anonymous visitors are sent), logout, and the test
//! client's routes. Each is also public where it has always been
//! ([`crate::catchers`]' module, [`crate::testing`]).

/// The path of the login page (`/login`).
pub const LOGIN_PATH: &str = "/login";

/// The login page that goes on to `next` after the login (`next`
/// percent-encoded whole: `/login?next=%2Fsecret1`).
pub(crate) fn login_then(next: &str) -> String {
    let next = percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC);
    format!("{LOGIN_PATH}?next={next}")
}

/// The path of a login's second step (`/login/verify`).
pub const TWO_FACTOR_VERIFY_PATH: &str = "/login/verify";

/// The path of the account's second-factor page (`/account/two-factor`).
pub const TWO_FACTOR_PATH: &str = "/account/two-factor";

/// The path of the account page (`/account`).
pub const ACCOUNT_PATH: &str = "/account";

/// Where the passkey pages' script is served (`/kegauth/passkeys.js`).
#[cfg(feature = "passkeys")]
pub const PASSKEY_SCRIPT_PATH: &str = "/kegauth/passkeys.js";

/// The path of the logout page (`/logout`).
pub const LOGOUT_PATH: &str = "/logout";

/// Where [`TestClient`](crate::testing::TestClient) mounts its routes (left
/// unchecked by [`RequireEverywhere`](crate::RequireEverywhere) when the
/// `testing` feature is on).
#[cfg(feature = "testing")]
pub const TEST_ROUTES: &str = "/__kegauth-test";

#[cfg(test)]
mod tests {
    #[test]
    fn login_then_encodes_next_whole() {
        assert_eq!(super::login_then("/secret1"), "/login?next=%2Fsecret1");
        assert_eq!(
            super::login_then("/a?b=c&d"),
            "/login?next=%2Fa%3Fb%3Dc%26d"
        );
    }
}
