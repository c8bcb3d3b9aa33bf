use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(table = "widgets")]
struct Widget {
    id: i64,
    #[crud(list, label, form)]
    name: String,
    #[crud(skip, list)]
    cache: Vec<u8>,
}

fn main() {}
