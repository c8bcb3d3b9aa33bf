//! Rocket alone, for `benches/peer.sh`: one route answering the text that
//! keg-auth's test app answers on `/secret1`, with no fairing, no cookie and
//! no database. Its row in the peer table is the ceiling that the machine,
//! wrk and Rocket itself set for any app, kegauth or not.
//!
//!   ROCKET_SECRET_KEY=$(head -c 32 /dev/urandom | base64) \
//!     cargo run --release --example rocket-floor    # ROCKET_PORT=...
//!
//! (The workspace builds Rocket with its `secrets` feature, so a release
//! build refuses to launch without a secret key, although nothing here uses it.)

#[rocket::get("/floor")]
fn floor() -> &'static str {
    "secret1"
}

#[rocket::launch]
fn rocket() -> _ {
    rocket::build().mount("/", rocket::routes![floor])
}
