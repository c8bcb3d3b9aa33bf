//! The paths of kegauth's own pages that more than one layer names: the
//! login page (where anonymous visitors are sent), logout, and the test
//! client's routes. Each is also public where it has always been
//! ([`crate::catchers`]' module, [`crate::testing`]).

/// The path of the login page (`/login`).
pub const LOGIN_PATH: &str = "/login";

/// The path of a login's second step (`/login/verify`).
pub const TWO_FACTOR_VERIFY_PATH: &str = "/login/verify";

/// The path of the account's second-factor page (`/account/two-factor`).
pub const TWO_FACTOR_PATH: &str = "/account/two-factor";

/// The path of the logout page (`/logout`).
pub const LOGOUT_PATH: &str = "/logout";

/// Where [`TestClient`](crate::testing::TestClient) mounts its routes (left
/// unchecked by [`RequireEverywhere`](crate::RequireEverywhere) when the
/// `testing` feature is on).
#[cfg(feature = "testing")]
pub const TEST_ROUTES: &str = "/__kegauth-test";
