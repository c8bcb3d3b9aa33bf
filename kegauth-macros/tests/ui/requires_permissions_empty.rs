use kegauth_macros::requires_permissions;

#[requires_permissions()]
#[get("/x")]
fn handler() {}

fn main() {}
