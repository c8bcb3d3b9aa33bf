use kegauth_macros::AuthEntity;

struct UserCore;

#[derive(AuthEntity)]
#[auth(user)]
struct User {
    user_id: i64,
    email: String,
    #[auth(core)]
    core: UserCore,
}

fn main() {}
