//! Kernel descriptions and the cache of compiled pipelines.
//!
//! Every kernel's bind group 0 is: binding 0 = its parameter block (a uniform with a
//! dynamic offset into the per-submission params arena), bindings 1.. = storage buffers
//! in the order of `Kernel::bindings`. Layouts are explicit because automatic layouts
//! cannot have dynamic offsets.

use std::collections::HashMap;

use super::params::PARAMS_BYTES;

/// One .wgsl file under shaders/. Each is compiled with `common.wgsl` prepended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    Elementwise,
    Reduce,
    Conv,
    Pool,
    BatchNorm,
    Dense,
    Lstm,
    Heads,
    Optimizer,
    Bench,
}

impl Shader {
    fn source(self) -> &'static str {
        match self {
            Shader::Elementwise => include_str!("../../shaders/elementwise.wgsl"),
            Shader::Reduce => include_str!("../../shaders/reduce.wgsl"),
            Shader::Conv => include_str!("../../shaders/conv.wgsl"),
            Shader::Pool => include_str!("../../shaders/pool.wgsl"),
            Shader::BatchNorm => include_str!("../../shaders/batchnorm.wgsl"),
            Shader::Dense => include_str!("../../shaders/dense.wgsl"),
            Shader::Lstm => include_str!("../../shaders/lstm.wgsl"),
            Shader::Heads => include_str!("../../shaders/heads.wgsl"),
            Shader::Optimizer => include_str!("../../shaders/optimizer.wgsl"),
            Shader::Bench => include_str!("../../shaders/bench.wgsl"),
        }
    }
}

const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// How a kernel uses one storage binding. `ReadWrite` also for inputs of kernels that may
/// run in place (x == y): one buffer bound twice is legal only if both bindings are
/// read-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    ReadWrite,
}

/// One entry point and its storage bindings.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Kernel {
    pub shader: Shader,
    pub entry: &'static str,
    pub bindings: &'static [Access],
}

/// Compiled pipelines, their layouts and shader modules, created once per device.
#[derive(Default)]
pub struct PipelineCache {
    modules: HashMap<Shader, wgpu::ShaderModule>,
    layouts: HashMap<&'static [Access], wgpu::BindGroupLayout>,
    pipelines: HashMap<(Shader, &'static str), wgpu::ComputePipeline>,
}

impl PipelineCache {
    pub fn layout(&mut self, device: &wgpu::Device, bindings: &'static [Access]) -> wgpu::BindGroupLayout {
        self.layouts.entry(bindings).or_insert_with(|| create_layout(device, bindings)).clone()
    }

    pub fn pipeline(&mut self, device: &wgpu::Device, kernel: &'static Kernel) -> wgpu::ComputePipeline {
        if let Some(p) = self.pipelines.get(&(kernel.shader, kernel.entry)) {
            return p.clone();
        }
        let layout = self.layout(device, kernel.bindings);
        let module = self
            .modules
            .entry(kernel.shader)
            .or_insert_with(|| {
                let source = format!("{COMMON}\n{}", kernel.shader.source());
                device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.entry),
                    source: wgpu::ShaderSource::Wgsl(source.into()),
                })
            })
            .clone();
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(kernel.entry),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(kernel.entry),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(kernel.entry),
            compilation_options: Default::default(),
            cache: None,
        });
        self.pipelines.insert((kernel.shader, kernel.entry), pipeline.clone());
        pipeline
    }
}

fn create_layout(device: &wgpu::Device, bindings: &[Access]) -> wgpu::BindGroupLayout {
    let params = wgpu::BindGroupLayoutEntry {
        binding: 0,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Uniform,
            has_dynamic_offset: true,
            min_binding_size: wgpu::BufferSize::new(PARAMS_BYTES),
        },
        count: None,
    };
    let storage = bindings.iter().enumerate().map(|(i, access)| wgpu::BindGroupLayoutEntry {
        binding: i as u32 + 1,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only: *access == Access::Read },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    });
    let entries: Vec<_> = std::iter::once(params).chain(storage).collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: None, entries: &entries })
}
