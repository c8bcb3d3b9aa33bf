use kegauth_macros::requires_user;

// #[get] expands first when it is above: the requirement must come first.
#[requires_user]
fn handler() {}

fn main() {}
