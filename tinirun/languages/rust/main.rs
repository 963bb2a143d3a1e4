// Calls the user's run(input) with all of standard input and prints what it returns.
use std::io::{Read, Write};

mod function;

fn main() {
    let mut input = String::new();
    if let Err(err) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("{err}");
        std::process::exit(1);
    }
    match function::run(input) {
        Ok(out) => {
            print!("{out}");
            let _ = std::io::stdout().flush();
        }
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    }
}
