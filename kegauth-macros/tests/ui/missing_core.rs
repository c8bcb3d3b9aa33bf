use kegauth_macros::AuthEntity;

#[derive(AuthEntity)]
#[auth(user)]
struct User {
    id: i64,
    email: String,
}

fn main() {}
