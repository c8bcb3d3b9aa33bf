use kegauth_macros::AuthEntity;

#[derive(AuthEntity)]
#[auth(group)]
struct Group {
    id: i64,
    name: String,
    #[auth(token)]
    code: String,
}

fn main() {}
