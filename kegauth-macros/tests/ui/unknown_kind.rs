use kegauth_macros::AuthEntity;

#[derive(AuthEntity)]
#[auth(role)]
struct Role {
    id: i64,
    name: String,
}

fn main() {}
