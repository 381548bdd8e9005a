fn main() {
    eprintln!("vrrpd: not yet wired");
    std::process::exit(1);
}
