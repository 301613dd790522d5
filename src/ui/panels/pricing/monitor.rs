//! The Monitor tab: where our prices stand against each competitor, the price index and a
//! product's price history.

use super::*;

impl PricingPanel {
    pub(super) fn monitor_ui(&mut self, ui: &mut egui::Ui, output: &MarketOutput, models: &mut PricingModels, requests: &mut Vec<Request>) {
        let (data, monitor) = (&output.input, &output.result.monitor);
        let summary = monitor.summary();
        ui.horizontal(|ui| {
            let as_of = crate::analytics::customers::date_of_day(monitor.as_of.div_euclid(86_400));
            ui.label(RichText::new(format!("As of {} (the last competitor observation)", widgets::day(as_of))).weak());
            ui.separator();
            let vs_label = ui.label("Index also against");
            let mut reference = models.thresholds.reference_competitor.clone();
            egui::ComboBox::from_id_salt("vs_competitor")
                .selected_text(reference.clone().unwrap_or_else(|| "(market average only)".into()))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut reference, None, "(market average only)");
                    for name in &data.competitors {
                        ui.selectable_value(&mut reference, Some(name.clone()), name);
                    }
                })
                .response
                .labelled_by(vs_label.id);
            models.thresholds.reference_competitor = reference;
            if ui.small_button("CSV").on_hover_text("Every product's position (as `shoplens pricing monitor --out`)").clicked() {
                requests.push(Request::ExportTable { file_name: "price_monitor.csv".into(), table: pricing::monitor_table(data, monitor) });
            }
        });
        ui.columns(4, |cols| {
            widgets::stat_card(
                &mut cols[0],
                "Price index (market = 100)",
                &summary.price_index.map_or_else(|| "–".into(), |m| format!("{m:.1}")),
                "Mean over compared products of our price / the mean current competitor price × 100. Below 100: we are cheaper.",
            );
            widgets::stat_card(
                &mut cols[1],
                "Cheapest on",
                &format!("{} of {}", summary.cheapest, summary.compared),
                "Products where our price is the lowest among the sellers (rank 1).",
            );
            widgets::stat_card(
                &mut cols[2],
                "Dearest on",
                &format!("{} of {}", summary.dearest, summary.compared),
                "Products where every competitor is cheaper.",
            );
            let stale: usize = monitor.uncovered.iter().map(|&(_, n)| n).sum();
            widgets::stat_card(
                &mut cols[3],
                "Missing observations",
                &widgets::number(stale as f64, 0),
                "Product × competitor pairs without an observation in the stale window (see Coverage below).",
            );
        });
        ui.add_space(6.0);
        egui::ScrollArea::vertical().id_salt("monitor_scroll").show(ui, |ui| {
            let width = ui.available_width();
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_width((width * 0.42).max(360.0));
                    ui.horizontal(|ui| {
                        ui.strong("Products");
                        ui.add(egui::TextEdit::singleline(&mut self.search).hint_text("search id or name").desired_width(160.0));
                    });
                    let needle = self.search.to_lowercase();
                    let shown: Vec<&pricing::Position> = monitor
                        .positions
                        .iter()
                        .filter(|p| {
                            needle.is_empty() || {
                                let product = &data.products[p.product as usize];
                                product.id.to_lowercase().contains(&needle) || product.name.to_lowercase().contains(&needle)
                            }
                        })
                        .collect();
                    if self.product.is_none() {
                        // Start with the first product of the catalogue.
                        self.product = monitor.positions.first().map(|p| data.products[p.product as usize].id.clone());
                    }
                    let header = ["product", "ours", "cheapest", "index", "rank"].map(String::from);
                    let rows: Vec<Vec<String>> = shown
                        .iter()
                        .map(|p| {
                            vec![
                                product_label(data, p.product),
                                price(p.ours),
                                price(p.cheapest.map(|c| c.1)),
                                p.index.map_or_else(|| "–".into(), |i| format!("{i:.1}")),
                                p.rank.map_or_else(|| "–".into(), |r| format!("{r} of {}", p.sellers)),
                            ]
                        })
                        .collect();
                    let selected = shown.iter().position(|p| Some(&data.products[p.product as usize].id) == self.product.as_ref());
                    if let Some(i) =
                        widgets::pick_table(ui, "price_positions", &header, &rows, &[false, true, true, true, true], 380.0, selected)
                    {
                        self.product = Some(data.products[shown[i].product as usize].id.clone());
                    }
                });
                ui.vertical(|ui| {
                    let code = self.product.as_ref().and_then(|id| data.products.iter().position(|p| &p.id == id));
                    match code {
                        Some(code) => price_history_chart(ui, data, code as u32, monitor),
                        None => {
                            ui.label("Pick a product to see its prices over time.");
                        }
                    }
                });
            });
            ui.add_space(8.0);
            ui.strong("Competitor price moves per day");
            moves_chart(ui, monitor);
            ui.add_space(8.0);
            ui.columns(2, |cols| {
                for (col, (title, groups)) in cols.iter_mut().zip([("By category", &monitor.by_category), ("By brand", &monitor.by_brand)])
                {
                    col.strong(title);
                    let (header, rows) = pricing::groups_table(groups, title.trim_start_matches("By "));
                    widgets::text_table(col, title, &header, &rows, &[false, true, true, true, true], 220.0);
                }
            });
            ui.add_space(8.0);
            ui.strong(format!("Coverage: products without an observation in the last {} days", models.thresholds.stale_days));
            ui.horizontal_wrapped(|ui| {
                for &(competitor, missing) in &monitor.uncovered {
                    let text = format!("{}: {missing}", data.competitors[competitor as usize]);
                    ui.label(if missing > 0 { RichText::new(text).color(widgets::BAD) } else { RichText::new(text) });
                    ui.separator();
                }
            });
        });
    }
}

/// Our price and every competitor's over time as step lines, stock-outs marked.
pub(super) fn price_history_chart(ui: &mut egui::Ui, data: &PricingData, product: u32, monitor: &pricing::Monitor) {
    let end = monitor.as_of as f64 / DAY;
    ui.strong(format!("{}: prices over time", product_label(data, product)));
    if let Some(position) = monitor.positions.iter().find(|p| p.product == product) {
        ui.label(format!(
            "ours {} · cheapest {} · index {} · rank {}",
            price(position.ours),
            position.cheapest.map_or_else(|| "–".into(), |(c, p)| format!("{} at {p:.2}", data.competitors[c as usize])),
            position.index.map_or_else(|| "–".into(), |i| format!("{i:.1}")),
            position.rank.map_or_else(|| "–".into(), |r| format!("{r} of {}", position.sellers)),
        ));
    }
    // The chart spans the data; a price decided after it (a decision taken today on last
    // year's export) is a labelled marker at the right edge, not a line running into the future.
    let history = data.our_history(product).iter().map(|o| (o.time as f64 / DAY, o.price));
    let (ours, later): (Vec<_>, Vec<_>) = history.partition(|&(day, _)| day <= end);
    let observations = data.observations_of(product);
    let start = observations.first().map(|o| o.time as f64 / DAY);
    // A catalogue price without a history holds over the whole chart.
    let ours = if ours.is_empty() {
        data.products[product as usize].price.zip(start).map(|(p, s)| vec![(s, p)]).unwrap_or_default()
    } else {
        ours
    };
    let mut lines: Vec<(String, Vec<[f64; 2]>, Color32)> = vec![("our price".into(), steps(&ours, end), Color32::from_rgb(30, 30, 30))];
    let (mut stock_outs, mut promotions) = (Vec::new(), Vec::new());
    for (competitor, name) in data.competitors.iter().enumerate() {
        let series: Vec<&pricing::Observation> = observations.iter().filter(|o| o.competitor == competitor as u32).collect();
        if series.is_empty() {
            continue;
        }
        let points: Vec<(f64, f64)> = series.iter().map(|o| (o.time as f64 / DAY, o.price)).collect();
        lines.push((name.clone(), steps(&points, end), category_colour(competitor)));
        stock_outs.extend(series.iter().filter(|o| o.in_stock == Some(false)).map(|o| [o.time as f64 / DAY, o.price]));
        promotions.extend(series.iter().filter(|o| o.was.is_some()).map(|o| [o.time as f64 / DAY, o.price]));
    }
    let decided_after = later.last().map(|&(day, new_price)| {
        let decided = crate::analytics::customers::date_of_day(day.floor() as i64);
        (format!("decided after the data: {} on {}", price(Some(new_price)), widgets::day(decided)), new_price)
    });
    let mut entries: Vec<(&str, Color32)> = lines.iter().map(|(name, _, colour)| (name.as_str(), *colour)).collect();
    if !stock_outs.is_empty() {
        entries.push(("out of stock", widgets::BAD));
    }
    if !promotions.is_empty() {
        entries.push(("on promotion (a struck-through price shown)", PROMOTION));
    }
    if let Some((name, _)) = &decided_after {
        entries.push((name.as_str(), DECIDED_AFTER));
    }
    widgets::legend_row(ui, &entries);
    widgets::plot(ui, ("price_history", product)).height(330.0).x_axis_formatter(|mark, _| date_axis(mark)).y_axis_label("price").show(
        ui,
        |plot| {
            for (name, points, colour) in lines {
                let width = if name == "our price" { 2.5 } else { 1.5 };
                // egui_plot merges points that share a pixel column into a filled band, which
                // turns a step line's vertical edges into solid areas: keep it a line.
                plot.line(Line::new(name, PlotPoints::from(points)).color(colour).width(width).allow_band(false));
            }
            if !stock_outs.is_empty() {
                plot.points(
                    Points::new("out of stock", PlotPoints::from(stock_outs)).shape(MarkerShape::Cross).radius(5.0).color(widgets::BAD),
                );
            }
            if !promotions.is_empty() {
                plot.points(
                    Points::new("on promotion (a struck-through price shown)", PlotPoints::from(promotions))
                        .shape(MarkerShape::Diamond)
                        .radius(3.5)
                        .color(PROMOTION),
                );
            }
            if let Some((name, new_price)) = decided_after {
                plot.points(
                    Points::new(name, PlotPoints::from(vec![[end, new_price]])).shape(MarkerShape::Right).radius(7.0).color(DECIDED_AFTER),
                );
            }
        },
    );
}

/// Observations on promotion, and a price decided after the data ends, in the price history.
pub(super) const PROMOTION: Color32 = Color32::from_rgb(230, 150, 30);
pub(super) const DECIDED_AFTER: Color32 = Color32::from_rgb(30, 30, 30);

/// Competitor price moves per day (the last 120 days): up, down, unchanged, stacked.
pub(super) fn moves_chart(ui: &mut egui::Ui, monitor: &pricing::Monitor) {
    let days = &monitor.moves[monitor.moves.len().saturating_sub(120)..];
    let bars = |value: fn(&pricing::DayMoves) -> u64| -> Vec<Bar> {
        days.iter().map(|d| Bar::new(d.day as f64, value(d) as f64).width(0.8)).collect()
    };
    let down = BarChart::new("down", bars(|d| d.down)).color(widgets::BAD);
    let up = BarChart::new("up", bars(|d| d.up)).color(widgets::GOOD).stack_on(&[&down]);
    let unchanged = BarChart::new("unchanged", bars(|d| d.unchanged)).color(Color32::from_gray(170)).stack_on(&[&down, &up]);
    widgets::legend_row(ui, &[("down", widgets::BAD), ("up", widgets::GOOD), ("unchanged", Color32::from_gray(170))]);
    widgets::plot(ui, "price_moves").height(180.0).x_axis_formatter(|mark, _| date_axis(mark)).y_axis_label("observations").show(
        ui,
        |plot| {
            plot.bar_chart(down);
            plot.bar_chart(up);
            plot.bar_chart(unchanged);
        },
    );
}
