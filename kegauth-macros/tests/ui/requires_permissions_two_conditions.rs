use kegauth_macros::requires_permissions;

#[requires_permissions("permission1", "permission2")]
#[get("/x")]
fn handler() {}

fn main() {}
