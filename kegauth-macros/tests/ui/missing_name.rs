use kegauth_macros::AuthEntity;

#[derive(AuthEntity)]
#[auth(bundle)]
struct Bundle {
    id: i64,
    title: String,
}

fn main() {}
