//! The authenticators: what checks the credentials of a login.
//!
//! - the login form's password, against the user's stored hash
//!   ([`crate::authn::service`], with [`crate::password`]);
//! - [`ldap`]: a bind to the directory;
//! - [`oauth`]: an OpenID provider's ID token, or (`oauth_plain`) a plain
//!   OAuth 2 provider's user info.
//!
//! Which of them the login page offers is the [`Authenticator`] the app
//! chose; OAuth profiles work beside any of them.

#[cfg(feature = "ldap")]
pub mod ldap;
#[cfg(feature = "oauth")]
pub mod oauth;
#[cfg(not(feature = "oauth"))]
#[path = "oauth_off.rs"]
pub(crate) mod oauth;
#[cfg(feature = "oauth")]
pub(crate) mod oauth_plain;

/// How people log in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Authenticator {
    /// keg-auth's `KegAuthenticator`: the login form checks a login id and password.
    #[default]
    Keg,
    /// keg-auth's `RedirectAuthenticator`: `/login` redirects to
    /// `redirect_login_target` (an SSO or OAuth start page); the password views
    /// answer 404.
    Redirect,
    /// keg-auth's `LdapAuthenticator`: the login form's password is checked by
    /// a bind to the directory (see [`crate::ldap`]); local users are created
    /// on first login and hold no password.
    Ldap,
}
