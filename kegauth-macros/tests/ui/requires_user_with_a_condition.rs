use kegauth_macros::requires_user;

#[requires_user("admin")]
#[get("/x")]
fn handler() {}

fn main() {}
