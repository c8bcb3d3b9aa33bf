//! The raw argon2id rate, for `benches/floor.sh`'s login row: `THREADS`
//! threads verifying one password against its hash with kegauth's default
//! parameters (`kegauth::password::ARGON2_*`: 19 MiB, 2 passes, 1 lane), for
//! `SECONDS`, with nothing else around (no Rocket, no database, no session).
//! Prints the verifications per second.
//!
//!   cargo run --release --example argon2-rate -- 1 10    # threads, seconds

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use kegauth::password::{ARGON2_M_COST, ARGON2_P_COST, ARGON2_T_COST};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().as_deref().unwrap_or("1").parse()?;
    let seconds: u64 = args.next().as_deref().unwrap_or("10").parse()?;
    let params = Params::new(ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST, None)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let password = b"a long floor benchmark password";
    let salt = SaltString::encode_b64(b"sixteen byte slt")?;
    let hash = argon2.hash_password(password, &salt)?.to_string();
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let parsed = PasswordHash::new(&hash).expect("the hash just made");
                    let mut n = 0u64;
                    while Instant::now() < until {
                        argon2
                            .verify_password(password, &parsed)
                            .expect("the password verifies");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).collect()
    });
    let total: u64 = counts.iter().sum();
    println!("{:.2}", total as f64 / started.elapsed().as_secs_f64());
    Ok(())
}
