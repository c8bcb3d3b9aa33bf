//! The WebAuthn ceremonies (feature `passkeys`): options for the browser and
//! its answers checked, with [`webauthn_rp`].

use crate::core::config::Config;
use crate::core::error::{Error, Result};
use crate::core::passkeys::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use std::borrow::Cow;
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::{
    AllowedCredential, AllowedCredentials, AuthenticationVerificationOptions,
    DiscoverableCredentialRequestOptions, NonDiscoverableCredentialRequestOptions,
};
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialCreationOptions, PublicKeyCredentialUserEntity,
    RegistrationVerificationOptions, UserHandle16, Username,
};
use webauthn_rp::request::{
    AsciiDomain, Credentials, ExtensionInfo, PublicKeyCredentialDescriptor, RpId,
};
use webauthn_rp::response::auth::ser_relaxed::AuthenticationRelaxed;
use webauthn_rp::response::auth::Authentication;
use webauthn_rp::response::register::ser_relaxed::RegistrationRelaxed;
use webauthn_rp::response::register::{DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId, Origin};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthenticationServerState,
    NonDiscoverableAuthenticationServerState, RegistrationServerState,
};

impl Config {
    /// The relying party passkeys are bound to, when they are on (a launch
    /// with passkeys on and no usable `server_name` fails with this error).
    pub fn relying_party(&self) -> Result<Option<RelyingParty>> {
        match self.passkeys_server_name()? {
            Some(server_name) => {
                RelyingParty::new(server_name, &self.preferred_url_scheme).map(Some)
            }
            None => Ok(None),
        }
    }
}

/// Why the browser's answer was not accepted (for the log and the audit
/// trail; the person sees one message).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("passkey refused: {0}")]
pub struct Refused(pub String);

fn refused(e: impl std::fmt::Display) -> Refused {
    Refused(e.to_string())
}

/// The relying party: the id and origin passkeys are bound to.
#[derive(Clone, Debug)]
pub struct RelyingParty {
    rp_id: RpId,
    origin: String,
}

impl RelyingParty {
    /// The relying party of a site served at `scheme://server_name`: its id
    /// is the host (the port dropped), its one accepted origin
    /// `scheme://server_name`.
    ///
    /// ```
    /// use kegauth::passkeys::RelyingParty;
    /// let rp = RelyingParty::new("app.example.com", "https").unwrap();
    /// assert_eq!(rp.id(), "app.example.com");
    /// assert_eq!(rp.origin(), "https://app.example.com");
    /// assert_eq!(RelyingParty::new("localhost:8000", "http").unwrap().id(), "localhost");
    /// // WebAuthn refuses IP addresses as relying-party ids.
    /// assert!(RelyingParty::new("127.0.0.1:8000", "http").is_err());
    /// ```
    pub fn new(server_name: &str, scheme: &str) -> Result<Self> {
        let host = crate::core::config::passkey_host(server_name)?;
        let bad = |why: &str| {
            Error::Config(format!(
                "passkeys need server_name to be a domain name ({why}): `{server_name}`"
            ))
        };
        let domain =
            AsciiDomain::try_from(host.to_ascii_lowercase()).map_err(|e| bad(&e.to_string()))?;
        Ok(RelyingParty {
            rp_id: RpId::Domain(domain),
            origin: format!("{scheme}://{server_name}"),
        })
    }

    /// The relying-party id.
    pub fn id(&self) -> &str {
        self.rp_id.as_ref()
    }

    /// The origin answers must come from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    fn origins(&self) -> [Origin<'_>; 1] {
        [Origin(Cow::Borrowed(&self.origin))]
    }

    /// Begin registering a credential of `kind` for the user known to
    /// authenticators as `handle` (`login` shown as its name), not one of
    /// `existing` again: the state to keep, and the options for
    /// `PublicKeyCredential.parseCreationOptionsFromJSON`.
    pub fn begin_registration(
        &self,
        kind: PasskeyKind,
        handle: &[u8],
        login: &str,
        existing: &[StoredPasskey],
    ) -> Result<(String, serde_json::Value)> {
        let handle = user_handle(handle)?;
        let name = Username::try_from(login)
            .or_else(|_| Username::try_from("user"))
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let user = PublicKeyCredentialUserEntity {
            name,
            id: &handle,
            display_name: Nickname::try_from(login).ok(),
        };
        let exclude = existing.iter().filter_map(descriptor).collect();
        let options = match kind {
            PasskeyKind::Passkey => {
                let mut options =
                    PublicKeyCredentialCreationOptions::passkey(&self.rp_id, user, exclude);
                // Ask for credProtect, but do not make an authenticator that
                // lacks it fail the registration (many platform ones do):
                // every passkey login requires user verification anyway.
                options.extensions.cred_protect =
                    CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
                options
            }
            PasskeyKind::SecurityKey => {
                PublicKeyCredentialCreationOptions::second_factor(&self.rp_id, user, exclude)
            }
        };
        started(options.start_ceremony())
    }

    /// Finish a registration: `state` from [`begin_registration`](Self::begin_registration),
    /// `response` the browser's `credential.toJSON()`.
    pub fn finish_registration(
        &self,
        state: &str,
        response: &str,
    ) -> std::result::Result<NewPasskey, Refused> {
        let server = RegistrationServerState::<USER_HANDLE_LEN>::decode(&decode_b64(state)?[..])
            .map_err(refused)?;
        let registration = serde_json::from_str::<RegistrationRelaxed>(response)
            .map_err(refused)?
            .0;
        let origins = self.origins();
        let options = RegistrationVerificationOptions::<Origin<'_>, Origin<'_>> {
            allowed_origins: &origins,
            // Browsers add extension results nobody asked for (credProps).
            error_on_unsolicited_extensions: false,
            ..RegistrationVerificationOptions::default()
        };
        let cred = server
            .verify(&self.rp_id, &registration, &options)
            .map_err(refused)?;
        let (id, transports, handle, static_state, dynamic_state, _) = cred.into_parts();
        Ok(NewPasskey {
            credential_id: id.as_ref().to_vec(),
            user_handle: handle.as_ref().to_vec(),
            public_key: match static_state.encode() {
                Ok(bytes) => bytes,
                Err(never) => match never {},
            },
            sign_state: match dynamic_state.encode() {
                Ok(bytes) => bytes.to_vec(),
                Err(never) => match never {},
            },
            transports: match transports.encode() {
                Ok(byte) => byte,
                Err(never) => match never {},
            },
        })
    }

    /// Begin a passkey login (any of the site's discoverable credentials,
    /// user verification required).
    pub fn begin_login(&self) -> Result<(String, serde_json::Value)> {
        started(DiscoverableCredentialRequestOptions::passkey(&self.rp_id).start_ceremony())
    }

    /// The credential id a passkey login's `response` names (to look it up).
    pub fn login_credential(response: &str) -> std::result::Result<Vec<u8>, Refused> {
        Ok(assertion::<true>(response)?.raw_id().as_ref().to_vec())
    }

    /// Finish a passkey login with `stored`, the credential the answer
    /// names: its new counter and flags to store.
    pub fn finish_login(
        &self,
        state: &str,
        response: &str,
        stored: &StoredPasskey,
    ) -> std::result::Result<Vec<u8>, Refused> {
        let server = DiscoverableAuthenticationServerState::decode(&decode_b64(state)?[..])
            .map_err(refused)?;
        let auth = assertion::<true>(response)?;
        self.checked(stored, |rp, cred, options| {
            server.verify(rp, &auth, cred, options)
        })
    }

    /// Begin the second step of a login with one of `credentials`.
    pub fn begin_second_step(
        &self,
        credentials: &[StoredPasskey],
    ) -> Result<(String, serde_json::Value)> {
        let mut allowed = AllowedCredentials::with_capacity(credentials.len());
        for c in credentials.iter().filter_map(descriptor) {
            allowed.push(AllowedCredential::from(c));
        }
        let options = NonDiscoverableCredentialRequestOptions::second_factor(&self.rp_id, allowed)
            .map_err(|_| Error::Invalid("no passkey to ask for".into()))?;
        started(options.start_ceremony())
    }

    /// The credential id a second step's `response` names.
    pub fn second_step_credential(response: &str) -> std::result::Result<Vec<u8>, Refused> {
        Ok(assertion::<false>(response)?.raw_id().as_ref().to_vec())
    }

    /// Finish the second step with `stored` (one of the user's credentials,
    /// the one the answer names): its new counter and flags.
    pub fn finish_second_step(
        &self,
        state: &str,
        response: &str,
        stored: &StoredPasskey,
    ) -> std::result::Result<Vec<u8>, Refused> {
        let server = NonDiscoverableAuthenticationServerState::decode(&decode_b64(state)?[..])
            .map_err(refused)?;
        let auth = assertion::<false>(response)?;
        self.checked(stored, |rp, cred, options| {
            server.verify(rp, &auth, cred, options)
        })
    }

    /// Run `verify` (a ceremony's check of an assertion) on `stored` with
    /// this relying party's id and origin: the credential's new counter and
    /// flags.
    fn checked<E: std::fmt::Display>(
        &self,
        stored: &StoredPasskey,
        verify: impl FnOnce(
            &RpId,
            &mut AuthenticatedCredential<'_, '_, USER_HANDLE_LEN, StoredKey>,
            &AuthenticationVerificationOptions<'_, '_, Origin<'_>, Origin<'_>>,
        ) -> std::result::Result<bool, E>,
    ) -> std::result::Result<Vec<u8>, Refused> {
        let handle = user_handle(&stored.user_handle).map_err(refused)?;
        let mut cred = authenticated(stored, &handle)?;
        let origins = self.origins();
        verify(&self.rp_id, &mut cred, &auth_options(&origins)).map_err(refused)?;
        Ok(sign_state(cred.dynamic_state()))
    }
}

/// An assertion as the browser's `credential.toJSON()` gives it (read
/// relaxed: unknown keys ignored, as the crate advises for real clients).
fn assertion<const DISCOVERABLE: bool>(
    response: &str,
) -> std::result::Result<Authentication<USER_HANDLE_LEN, DISCOVERABLE>, Refused> {
    serde_json::from_str::<AuthenticationRelaxed<USER_HANDLE_LEN, DISCOVERABLE>>(response)
        .map(|a| a.0)
        .map_err(refused)
}

/// A ceremony started: its state encoded (to keep) and its options as JSON
/// (for the browser).
fn started<S, C, E>(start: std::result::Result<(S, C), E>) -> Result<(String, serde_json::Value)>
where
    S: Encode,
    for<'a> S::Output<'a>: AsRef<[u8]>,
    S::Err: std::fmt::Display,
    C: Serialize,
    E: std::fmt::Display,
{
    let (server, client) = start.map_err(|e| Error::Config(format!("passkey options: {e}")))?;
    let json = serde_json::to_value(&client)
        .map_err(|e| Error::Config(format!("passkey options: {e}")))?;
    Ok((encode_state(&server)?, json))
}

fn user_handle(bytes: &[u8]) -> Result<UserHandle16> {
    let array: [u8; USER_HANDLE_LEN] = bytes
        .try_into()
        .map_err(|_| Error::Invalid("a stored passkey user handle is not 16 bytes".into()))?;
    match UserHandle16::decode(array) {
        Ok(handle) => Ok(handle),
        Err(never) => match never {},
    }
}

fn auth_options<'o, 's>(
    origins: &'o [Origin<'s>],
) -> AuthenticationVerificationOptions<'o, 'o, Origin<'s>, Origin<'s>> {
    AuthenticationVerificationOptions {
        allowed_origins: origins,
        error_on_unsolicited_extensions: false,
        ..AuthenticationVerificationOptions::default()
    }
}

fn sign_state(state: DynamicState) -> Vec<u8> {
    match state.encode() {
        Ok(bytes) => bytes.to_vec(),
        Err(never) => match never {},
    }
}

type StoredKey =
    webauthn_rp::response::register::CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>;

fn authenticated<'a>(
    stored: &'a StoredPasskey,
    handle: &'a UserHandle16,
) -> std::result::Result<AuthenticatedCredential<'a, 'a, USER_HANDLE_LEN, StoredKey>, Refused> {
    let id = CredentialId::<&[u8]>::decode(&stored.credential_id[..]).map_err(refused)?;
    let static_state = StaticState::<StoredKey>::decode(&stored.public_key[..]).map_err(refused)?;
    let dynamic: [u8; 7] = stored
        .sign_state
        .as_slice()
        .try_into()
        .map_err(|_| Refused("a stored sign state is not 7 bytes".into()))?;
    let dynamic_state = DynamicState::decode(dynamic).map_err(refused)?;
    AuthenticatedCredential::new(id, handle, static_state, dynamic_state).map_err(refused)
}

fn descriptor(stored: &StoredPasskey) -> Option<PublicKeyCredentialDescriptor<Vec<u8>>> {
    Some(PublicKeyCredentialDescriptor {
        id: CredentialId::<Vec<u8>>::decode(stored.credential_id.clone()).ok()?,
        transports: AuthTransports::decode(stored.transports).ok()?,
    })
}

fn encode_state<S: Encode>(state: &S) -> Result<String>
where
    for<'a> S::Output<'a>: AsRef<[u8]>,
    S::Err: std::fmt::Display,
{
    let bytes = state
        .encode()
        .map_err(|e| Error::Config(format!("passkey state: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

fn decode_b64(s: &str) -> std::result::Result<Vec<u8>, Refused> {
    URL_SAFE_NO_PAD.decode(s).map_err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_from_server_name() {
        let rp = RelyingParty::new("Example.COM:8443", "https").unwrap();
        assert_eq!(rp.id(), "example.com");
        assert_eq!(rp.origin(), "https://Example.COM:8443");
        for bad in ["127.0.0.1", "[::1]:80", "exa mple.com"] {
            assert!(RelyingParty::new(bad, "https").is_err(), "{bad}");
        }
    }

    #[test]
    fn ceremonies_begin_with_options_the_browser_reads() {
        let rp = RelyingParty::new("localhost:8000", "http").unwrap();
        let handle = new_user_handle();
        let (state, options) = rp
            .begin_registration(PasskeyKind::Passkey, &handle, "ann@example.com", &[])
            .unwrap();
        assert_eq!(options["rp"]["id"], "localhost");
        assert_eq!(options["user"]["name"], "ann@example.com");
        assert_eq!(
            options["authenticatorSelection"]["userVerification"],
            "required"
        );
        assert!(!state.is_empty());
        let (_, options) = rp
            .begin_registration(PasskeyKind::SecurityKey, &handle, "ann", &[])
            .unwrap();
        assert_eq!(
            options["authenticatorSelection"]["residentKey"],
            "discouraged"
        );
        let (_, options) = rp.begin_login().unwrap();
        assert_eq!(options["rpId"], "localhost");
        assert_eq!(options["userVerification"], "required");
        assert!(rp.begin_second_step(&[]).is_err(), "nothing to ask for");
    }

    #[test]
    fn garbage_answers_are_refused_not_panics() {
        let rp = RelyingParty::new("localhost", "https").unwrap();
        let (state, _) = rp.begin_login().unwrap();
        for answer in ["", "{}", "null", "{\"id\":\"x\"}", "\u{0}"] {
            assert!(rp.finish_registration(&state, answer).is_err());
            assert!(RelyingParty::login_credential(answer).is_err());
            assert!(RelyingParty::second_step_credential(answer).is_err());
        }
        assert!(rp.finish_registration("not base64!", "{}").is_err());
        assert!(rp.finish_registration("AAAA", "{}").is_err());
    }
}
