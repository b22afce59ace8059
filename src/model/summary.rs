//! The Keras-style layer table of `starskope summary`.

use crate::model::plan::LayerPlan;

pub struct Totals {
    pub total: usize,
    pub trainable: usize,
}

pub fn totals(layers: &[LayerPlan]) -> Totals {
    let all = layers.iter().flat_map(|l| &l.params);
    let total = all.clone().map(|p| p.numel()).sum();
    let trainable = all.filter(|p| p.trainable).map(|p| p.numel()).sum();
    Totals { total, trainable }
}

pub fn render(model: &str, layers: &[LayerPlan]) -> String {
    let mut s = format!("Model: {model}\n");
    let rule = "-".repeat(66);
    s += &format!("{rule}\n{:<28}{:<24}{:>14}\n{rule}\n", "Layer (type)", "Output shape", "Param #");
    for l in layers {
        let n: usize = l.params.iter().map(|p| p.numel()).sum();
        s += &format!(
            "{:<28}{:<24}{:>14}\n",
            l.name,
            format!("(batch, {}", &l.output.describe()[1..]),
            group(n)
        );
    }
    let t = totals(layers);
    s += &format!(
        "{rule}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: {}\n",
        group(t.total),
        group(t.trainable),
        group(t.total - t.trainable)
    );
    s
}

/// 71241 -> "71,241"
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
