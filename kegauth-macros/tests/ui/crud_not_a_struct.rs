use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(table = "widgets")]
enum Widget {
    A,
}

fn main() {}
