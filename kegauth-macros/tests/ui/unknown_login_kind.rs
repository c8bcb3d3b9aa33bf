use kegauth_macros::AuthEntity;

struct UserCore;

#[derive(AuthEntity)]
#[auth(user, login = "phone")]
struct User {
    id: i64,
    phone: String,
    #[auth(core)]
    core: UserCore,
}

fn main() {}
