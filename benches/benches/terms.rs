//! Term rules: `fold_case` against `str::to_lowercase`, its reference, on
//! the same values in one run: an ASCII command line, one with a few
//! non-ASCII characters (the case the piecewise folding is for), and text
//! that is mostly not ASCII.
//!
//! `cargo bench --workspace --bench terms`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use evidx_schema::terms::fold_case;

fn inputs() -> Vec<(&'static str, String)> {
    let line = "powershell.exe -NoProfile -Command Get-NetTcpConnection -State Listen | Where-Object { $_.LocalPort -gt 1024 } ";
    let ascii = line.repeat(20);
    let mut sprinkled = String::new();
    for i in 0..20 {
        sprinkled.push_str(line);
        if i % 4 == 0 {
            sprinkled.push_str("C:\\Users\\José\\Téléchargements\\");
        }
    }
    let cyrillic = "Привет Мир, ПРОЦЕСС запущен ".repeat(40);
    vec![
        ("ascii", ascii),
        ("sprinkled", sprinkled),
        ("cyrillic", cyrillic),
    ]
}

fn fold(c: &mut Criterion) {
    let mut group = c.benchmark_group("fold_case");
    for (name, text) in inputs() {
        assert_eq!(fold_case(&text), text.to_lowercase());
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(format!("to_lowercase/{name}"), |b| {
            b.iter(|| black_box(black_box(text.as_str()).to_lowercase()))
        });
        group.bench_function(format!("fold_case/{name}"), |b| {
            b.iter(|| black_box(fold_case(black_box(text.as_str()))))
        });
    }
    group.finish();
}

criterion_group!(benches, fold);
criterion_main!(benches);
