use std::{thread, time::Duration};

fn main() {
    println!("Hello, world!");
    for i in 1..=3 {
        thread::sleep(Duration::from_millis(500));
        println!("tick {i}");
    }
}
