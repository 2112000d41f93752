//! `make bench`, in-process: query latency on a generated 1 000 000-event store, each figure
//! the work of the route: the domain query plus the JSON it sends.

use criterion::{Criterion, criterion_group, criterion_main};
use pipeline_events::{
    Benchmark, Bucket, DailyJson, DeliveryActions, DeliveryIndex, DeliveryReport, EventIndex,
    EventQuery, GeneratorSettings, Services, day_of, generate, service_name, write_events_json,
};
use std::hint::black_box;
use std::time::Duration;

fn queries(c: &mut Criterion) {
    let settings = GeneratorSettings {
        events: 1_000_000,
        days: 365,
        engineers: 48,
        ..GeneratorSettings::default()
    };
    let store = EventIndex::from_records("default", generate(&settings)).expect("valid records");
    let (first, last) = store.time_span().unwrap();
    let middle = first + (last - first) / 2;
    let engineer = store.engineers().nth(7).unwrap().name.to_owned();
    eprintln!(
        "store: {} events, {} engineers",
        store.len(),
        store.engineers().len()
    );

    c.bench_function("range page of 100", |b| {
        b.iter(|| {
            let page = store.query(&EventQuery {
                from: Some(black_box(middle)),
                to: Some(middle + 30 * 86_400),
                limit: 100,
                ..EventQuery::default()
            });
            let mut json = Vec::new();
            write_events_json(&page.events, &mut json);
            json
        })
    });
    c.bench_function("engineer page of 100", |b| {
        b.iter(|| {
            let page = store.query(&EventQuery {
                from: Some(black_box(middle)),
                engineer: Some(&engineer),
                limit: 100,
                ..EventQuery::default()
            });
            let mut json = Vec::new();
            write_events_json(&page.events, &mut json);
            json
        })
    });
    // What GET /summaries/daily does: join the days' JSON, rendered once on the first request.
    let first_day = day_of(first);
    c.bench_function("daily summary over a year", |b| {
        b.iter(|| store.daily_json(black_box(first_day), first_day + 365))
    });
    // The first request pays for rendering every active day (an empty cache each time).
    c.bench_function("daily summary over a year, first request", |b| {
        b.iter(|| {
            DailyJson::default().render(
                black_box(first_day),
                first_day + 365,
                |day| store.day_json(day),
                || store.days_with_activity(),
            )
        })
    });
    // What GET /metrics/delivery does over a year by day (366 buckets and the total), on the index
    // built at load, and by week.
    let index = DeliveryIndex::build(store.iter(), &DeliveryActions::default());
    for (name, bucket) in [
        ("delivery metrics over a year by day", Bucket::Day),
        ("delivery metrics over a year by week", Bucket::Week),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                let report = DeliveryReport::new(
                    Some((black_box(first_day), first_day + 365)),
                    bucket,
                    Benchmark::default(),
                    &index,
                );
                serde_json::to_vec(&report).unwrap()
            })
        });
    }
    // What start-up adds to the load for it.
    c.bench_function("delivery index build", |b| {
        b.iter(|| DeliveryIndex::build(store.iter(), &DeliveryActions::default()))
    });
}

/// One service's questions on a store of 100 services × 10 000 events, and the same questions
/// on a store holding that service alone: `bench-report.py` holds each pair within 1.5×.
fn services(c: &mut Criterion) {
    let settings = GeneratorSettings {
        events: 1_000_000,
        days: 365,
        engineers: 48,
        services: 100,
        ..GeneratorSettings::default()
    };
    let records = generate(&settings);
    let name = service_name(42);
    let of_service: Vec<_> = (records.iter())
        .filter(|record| record.service.as_deref() == Some(name.as_str()))
        .cloned()
        .collect();
    let many = Services::from_records(records, "default").expect("valid records");
    let alone = Services::from_records(of_service, "default").expect("valid records");
    let service = Some(name.as_str());
    let (first, last) = alone.time_span(service).unwrap();
    eprintln!(
        "services: {} events in all, {} of {name}",
        many.len(),
        alone.len()
    );
    let middle = first + (last - first) / 2;
    let (first_day, last_day) = (day_of(first), day_of(last));
    for (store, label) in [(&many, "100 services"), (&alone, "that service alone")] {
        c.bench_function(&format!("service page of 100, {label}"), |b| {
            b.iter(|| {
                let page = store.query(&EventQuery {
                    from: Some(black_box(middle)),
                    service,
                    limit: 100,
                    ..EventQuery::default()
                });
                let mut json = Vec::new();
                write_events_json(&page.events, &mut json);
                json
            })
        });
        c.bench_function(
            &format!("service daily summary over a year, {label}"),
            |b| {
                b.iter(|| {
                    store.daily_json(service, black_box(first_day), last_day.min(first_day + 365))
                })
            },
        );
        c.bench_function(
            &format!("service delivery metrics over a year by day, {label}"),
            |b| {
                b.iter(|| {
                    let index = store.delivery(service);
                    let days = Some((black_box(first_day), last_day.min(first_day + 365)));
                    let report =
                        DeliveryReport::new(days, Bucket::Day, Benchmark::default(), index);
                    serde_json::to_vec(&report).unwrap()
                })
            },
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = queries, services
}
criterion_main!(benches);
