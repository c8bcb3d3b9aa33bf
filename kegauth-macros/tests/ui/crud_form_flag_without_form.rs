use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(table = "widgets")]
struct Widget {
    id: i64,
    #[crud(list, label, required, max_len = 10)]
    name: String,
}

fn main() {}
