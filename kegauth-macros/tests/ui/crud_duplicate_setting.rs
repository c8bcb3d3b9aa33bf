use kegauth_macros::Crud;

#[derive(Crud)]
#[crud(table = "widgets", table = "gadgets")]
struct Widget {
    id: i64,
    #[crud(list, label, form, max_len = 0)]
    name: String,
}

fn main() {}
