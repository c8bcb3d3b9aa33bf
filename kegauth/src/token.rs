//! Random values: session keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;

/// Bytes of randomness in a session key: 192 bits (a uuid4 has only 122).
pub const SESSION_KEY_BYTES: usize = 24;

/// A new session key from the OS CSPRNG: 24 random bytes as 32 base64url
/// characters, which fits keg-auth's `VARCHAR(36)` column.
///
/// ```
/// let key = kegauth::token::new_session_key();
/// assert_eq!(key.len(), 32);
/// assert_ne!(key, kegauth::token::new_session_key());
/// ```
pub fn new_session_key() -> String {
    let mut bytes = [0u8; SESSION_KEY_BYTES];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
