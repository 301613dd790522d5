//! How good a ranking is: ROC AUC (Mann–Whitney, ties counted half), ROC and precision–recall
//! curves, precision at k, calibration bins, and Spearman's rank correlation. Plain functions of
//! scores and labels, checked by hand in the tests.

/// Ranks 1..n of `values` with ties sharing their mean rank.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = mean;
        }
        i = j + 1;
    }
    ranks
}

/// The area under the ROC curve: the chance a random positive scores above a random negative
/// (ties count half). `None` without both classes.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let ranks = ranks(scores);
    let rank_sum: f64 = ranks.iter().zip(labels).filter(|(_, &l)| l).map(|(r, _)| r).sum();
    let u = rank_sum - (positives * (positives + 1)) as f64 / 2.0;
    Some(u / (positives as f64 * negatives as f64))
}

/// Indices by score, highest first (ties in index order).
fn by_score(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// The share of positives among the `k` highest scores (fewer when there are fewer scores).
pub fn precision_at(scores: &[f64], labels: &[bool], k: usize) -> Option<f64> {
    let top: Vec<usize> = by_score(scores).into_iter().take(k).collect();
    (!top.is_empty()).then(|| top.iter().filter(|&&i| labels[i]).count() as f64 / top.len() as f64)
}

/// The ROC curve as (false positive rate, true positive rate) points, one per distinct score
/// threshold, from (0, 0) to (1, 1), thinned to at most `max_points`.
pub fn roc_curve(scores: &[f64], labels: &[bool], max_points: usize) -> Vec<(f64, f64)> {
    let positives = labels.iter().filter(|&&l| l).count().max(1) as f64;
    let negatives = (labels.len() - labels.iter().filter(|&&l| l).count()).max(1) as f64;
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    let order = by_score(scores);
    for (n, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last_of_tie = order.get(n + 1).is_none_or(|&next| scores[next] != scores[i]);
        if last_of_tie {
            points.push((fp / negatives, tp / positives));
        }
    }
    thin(points, max_points)
}

/// The precision–recall curve as (recall, precision) points, one per distinct threshold.
pub fn pr_curve(scores: &[f64], labels: &[bool], max_points: usize) -> Vec<(f64, f64)> {
    let positives = labels.iter().filter(|&&l| l).count().max(1) as f64;
    let mut points = Vec::new();
    let mut tp = 0.0;
    let order = by_score(scores);
    for (n, &i) in order.iter().enumerate() {
        if labels[i] {
            tp += 1.0;
        }
        let last_of_tie = order.get(n + 1).is_none_or(|&next| scores[next] != scores[i]);
        if last_of_tie {
            points.push((tp / positives, tp / (n + 1) as f64));
        }
    }
    thin(points, max_points)
}

/// Keeps the first and last points and evenly spaced ones between.
fn thin(points: Vec<(f64, f64)>, max_points: usize) -> Vec<(f64, f64)> {
    if points.len() <= max_points.max(2) {
        return points;
    }
    let step = (points.len() - 1) as f64 / (max_points - 1) as f64;
    (0..max_points).map(|i| points[((i as f64 * step).round() as usize).min(points.len() - 1)]).collect()
}

/// One calibration bin: scores in `[low, high)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationBin {
    pub low: f64,
    pub high: f64,
    pub count: usize,
    pub mean_predicted: f64,
    pub observed: f64,
}

/// Predicted probabilities in `bins` equal-width bins, with the share of positives in each.
pub fn calibration(probabilities: &[f64], labels: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let mut out: Vec<CalibrationBin> = (0..bins)
        .map(|b| CalibrationBin {
            low: b as f64 / bins as f64,
            high: (b + 1) as f64 / bins as f64,
            count: 0,
            mean_predicted: 0.0,
            observed: 0.0,
        })
        .collect();
    for (&p, &l) in probabilities.iter().zip(labels) {
        let b = ((p * bins as f64) as usize).min(bins - 1);
        out[b].count += 1;
        out[b].mean_predicted += p;
        out[b].observed += f64::from(u8::from(l));
    }
    for bin in &mut out {
        if bin.count > 0 {
            bin.mean_predicted /= bin.count as f64;
            bin.observed /= bin.count as f64;
        }
    }
    out
}

/// Spearman's rank correlation (Pearson's on mean ranks). `None` when either side is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let (va, vb): (f64, f64) = (ra.iter().map(|x| (x - ma).powi(2)).sum(), rb.iter().map(|y| (y - mb).powi(2)).sum());
    (va > 0.0 && vb > 0.0).then(|| cov / (va * vb).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Positives at 0.9 and 0.7 against negatives at 0.8, 0.6, 0.5: 0.9 beats all three and 0.7
    /// beats two, so AUC = 5/6; a tie between a positive and a negative counts half.
    #[test]
    fn auc_precision_and_curves_by_hand() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5];
        let labels = [true, false, true, false, false];
        assert!((auc(&scores, &labels).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        assert_eq!(auc(&[0.5], &[true]), None);
        assert_eq!(precision_at(&scores, &labels, 1), Some(1.0));
        assert_eq!(precision_at(&scores, &labels, 2), Some(0.5));
        assert_eq!(precision_at(&scores, &labels, 50), Some(0.4), "k beyond the list: all of it");
        let roc = roc_curve(&scores, &labels, 100);
        assert_eq!(roc, vec![(0.0, 0.0), (0.0, 0.5), (1.0 / 3.0, 0.5), (1.0 / 3.0, 1.0), (2.0 / 3.0, 1.0), (1.0, 1.0)]);
        let pr = pr_curve(&scores, &labels, 100);
        assert_eq!(pr[0], (0.5, 1.0));
        assert_eq!(pr[2], (1.0, 2.0 / 3.0));
        let bins = calibration(&[0.05, 0.15, 0.95, 0.91], &[false, true, true, true], 10);
        assert_eq!((bins[0].count, bins[1].observed, bins[9].count), (1, 1.0, 2));
        assert!((bins[9].mean_predicted - 0.93).abs() < 1e-12);
    }

    /// Hand-checked: ranks with ties take the mean rank; Spearman of a monotone map is 1.
    #[test]
    fn spearman_by_hand() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0]), vec![2.0, 3.5, 3.5, 1.0]);
        assert!((spearman(&[1.0, 2.0, 3.0], &[1.0, 4.0, 9.0]).unwrap() - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap() + 1.0).abs() < 1e-12);
        // d = (0, 1, -1): 1 - 6·2 / (3·8) = 0.5.
        assert!((spearman(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
    }
}
