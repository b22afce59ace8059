//! Timing recorded work on the device, for the bench: GPU timestamps at the start and
//! end of one compute pass where the adapter has TIMESTAMP_QUERY, else the wall clock
//! around a submission that starts with the queue idle and waits for it to finish.

use std::time::{Duration, Instant};

use super::device::GpuContext;
use super::recorder::map_read;
use super::GpuBackend;
use crate::backend::DeviceLost;

/// The query set, and the buffers its two timestamps are resolved and read back through.
pub(super) struct TimestampReader {
    queries: wgpu::QuerySet,
    resolved: wgpu::Buffer,
    staging: wgpu::Buffer,
}

const BYTES: u64 = 2 * 8;

impl TimestampReader {
    fn new(device: &wgpu::Device) -> Self {
        let buffer = |usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("timestamps"),
                size: BYTES,
                usage,
                mapped_at_creation: false,
            })
        };
        TimestampReader {
            queries: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("bench timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            }),
            resolved: buffer(wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC),
            staging: buffer(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
        }
    }

    /// The time between the two timestamps of the last timestamped pass.
    fn read(&self, ctx: &GpuContext) -> Result<Duration, DeviceLost> {
        let mut encoder = ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.resolve_query_set(&self.queries, 0..2, &self.resolved, 0);
        encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.staging, 0, BYTES);
        ctx.queue.submit([encoder.finish()]);
        let ticks = {
            let view = map_read(ctx, &self.staging, 0..BYTES)?;
            let t: &[u64] = bytemuck::cast_slice(&view);
            t[1].saturating_sub(t[0])
        };
        self.staging.unmap();
        Ok(Duration::from_nanos((ticks as f64 * ctx.queue.get_timestamp_period() as f64) as u64))
    }
}

impl GpuBackend {
    pub fn has_timestamps(&self) -> bool {
        self.rec.ctx.features.contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Submits what is recorded and blocks until the device has finished everything, or
    /// fails once it is lost.
    pub fn wait_idle(&mut self) -> Result<(), DeviceLost> {
        self.rec.submit();
        self.rec.ctx.wait()
    }

    /// The device time of the ops `record` records, submitted alone as one compute pass
    /// once all earlier work has finished.
    pub fn time_recorded(&mut self, record: impl FnOnce(&mut GpuBackend)) -> Result<Duration, DeviceLost> {
        self.wait_idle()?;
        record(self);
        if !self.has_timestamps() {
            let start = Instant::now();
            self.wait_idle()?;
            return Ok(start.elapsed());
        }
        let device = self.rec.ctx.device.clone();
        let reader = self.timestamps.get_or_insert_with(|| TimestampReader::new(&device));
        if !self.rec.submit_timestamped(&reader.queries) {
            return Ok(Duration::ZERO);
        }
        reader.read(&self.rec.ctx)
    }
}
