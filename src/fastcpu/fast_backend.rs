//! `FastCpuBackend`: the CPU device. Its tensors live in a reference `CpuBackend`; the
//! ops with a fast version here run on them directly, every other op is passed through.

use super::{conv1d, dense, lstm};
use crate::backend::{
    Activation, Backend, Conv1dBackward, Conv1dForward, DenseBackward, DenseForward, LstmForward, Op,
    TensorId,
};
use crate::cpu::{activation, CpuBackend};

#[derive(Default)]
pub struct FastCpuBackend {
    store: CpuBackend,
    /// The LSTM backward's pre-activation gradients, kept from step to step.
    lstm_da: Vec<f32>,
}

impl FastCpuBackend {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Backend for FastCpuBackend {
    fn name(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn alloc(&mut self, len: usize) -> TensorId {
        self.store.alloc(len)
    }

    fn len(&self, t: TensorId) -> usize {
        self.store.len(t)
    }

    fn upload(&mut self, t: TensorId, data: &[f32]) {
        self.store.upload(t, data)
    }

    fn download(&mut self, t: TensorId) -> Vec<f32> {
        self.store.download(t)
    }

    fn flush(&mut self) {}

    fn run(&mut self, op: &Op) {
        let FastCpuBackend { store: be, lstm_da } = self;
        match *op {
            Op::Conv1dForward(Conv1dForward { s, x, w, b, y, relu }) => {
                be.with_outputs([y], None, |r, [y], _| conv1d::forward(&s, &r[x], &r[w], &r[b], y));
                if relu {
                    be.map_into(y, y, |_, x, y| activation::forward(Activation::Relu, x, y));
                }
            }
            Op::Conv1dBackward(Conv1dBackward { s, x, w, dy, dx, dw, db }) => {
                be.with_outputs([dw, db], dx, |r, [dw, db], dx| {
                    conv1d::backward(&s, &r[x], &r[w], &r[dy], dx, dw, db)
                })
            }
            Op::LstmForward(LstmForward { s, x, w_ih, w_hh, b, saved }) => {
                be.with_outputs([saved.h, saved.c, saved.gates], None, |r, saved, _| {
                    lstm::forward(&s, &r[x], [&r[w_ih], &r[w_hh], &r[b]], saved)
                })
            }
            Op::LstmBackward(o) => be.with_outputs([o.dw_ih, o.dw_hh, o.db], o.dx, |r, weights, dx| {
                let saved = [&r[o.saved.h], &r[o.saved.c], &r[o.saved.gates]];
                let grads = lstm::Grads { dx, weights, da: lstm_da };
                lstm::backward(&o.s, &r[o.x], [&r[o.w_ih], &r[o.w_hh]], saved, &r[o.dh], grads)
            }),
            Op::DenseForward(DenseForward { s, x, w, b, y }) => {
                be.with_outputs([y], None, |r, [y], _| dense::forward(&s, &r[x], &r[w], &r[b], y))
            }
            Op::DenseBackward(DenseBackward { s, x, w, dy, dx, dw, db }) => {
                be.with_outputs([dw, db], dx, |r, [dw, db], dx| {
                    dense::backward(&s, &r[x], &r[w], &r[dy], dx, dw, db)
                })
            }
            _ => be.run(op),
        }
    }
}
