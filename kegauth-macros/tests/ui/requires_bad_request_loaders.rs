use kegauth_macros::{requires_permissions, requires_user};

#[requires_user(request_loaders = [])]
#[get("/a")]
fn empty() {}

#[requires_user(request_loaders = "jwt")]
#[get("/b")]
fn not_a_list() {}

#[requires_permissions("permission1", request_loaders = ["jwt"])]
#[get("/c")]
fn a_name_not_a_type() {}

#[requires_user(request_loaders = [JwtRequestLoader], request_loaders = [JwtRequestLoader])]
#[get("/d")]
fn twice() {}

fn main() {}
