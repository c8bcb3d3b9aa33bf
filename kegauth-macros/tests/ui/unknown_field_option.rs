use kegauth_macros::AuthEntity;

#[derive(AuthEntity)]
#[auth(group)]
struct Group {
    id: i64,
    #[auth(indexed)]
    name: String,
}

fn main() {}
