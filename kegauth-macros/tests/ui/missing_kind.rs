use kegauth_macros::AuthEntity;

#[derive(AuthEntity)]
struct Group {
    id: i64,
    name: String,
}

fn main() {}
