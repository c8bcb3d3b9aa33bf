use kegauth_macros::AuthEntity;

#[derive(AuthEntity)]
#[auth(group)]
struct Group<T> {
    id: i64,
    name: String,
    extra: T,
}

fn main() {}
