//! Kernel descriptions and the cache of compiled pipelines.
//!
//! Every kernel's bind group 0 is: binding 0 = its parameter block (a uniform with a
//! dynamic offset into the per-submission params arena), bindings 1.. = storage buffers
//! in the order of `Kernel::bindings`. Layouts are explicit because automatic layouts
//! cannot have dynamic offsets.

use std::collections::HashMap;

use super::kernel_params as kp;
use super::params::{Layout, PARAMS_BYTES};
use super::precision::Precision;

/// One .wgsl file under shaders/. Each is compiled with the precision's prelude,
/// `common.wgsl` and its parameter block (`kernel_params`) prepended, once per precision
/// it is used at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    Elementwise,
    Reduce,
    Conv1d,
    Pool,
    BatchNorm,
    Dense,
    Lstm,
    Heads,
    Adam,
    Bench,
}

impl Shader {
    fn source(self) -> &'static str {
        match self {
            Shader::Elementwise => include_str!("../../shaders/elementwise.wgsl"),
            Shader::Reduce => include_str!("../../shaders/reduce.wgsl"),
            Shader::Conv1d => include_str!("../../shaders/conv1d.wgsl"),
            Shader::Pool => include_str!("../../shaders/pool.wgsl"),
            Shader::BatchNorm => include_str!("../../shaders/batchnorm.wgsl"),
            Shader::Dense => include_str!("../../shaders/dense.wgsl"),
            Shader::Lstm => include_str!("../../shaders/lstm.wgsl"),
            Shader::Heads => include_str!("../../shaders/heads.wgsl"),
            Shader::Adam => include_str!("../../shaders/adam.wgsl"),
            Shader::Bench => include_str!("../../shaders/bench.wgsl"),
        }
    }

    /// The shader's parameter block.
    fn params(self) -> Layout {
        match self {
            Shader::Elementwise => kp::Elementwise::layout(),
            Shader::Reduce => kp::Reduce::layout(),
            Shader::Conv1d => kp::Conv1d::layout(),
            Shader::Pool => kp::Pool::layout(),
            Shader::BatchNorm => kp::BatchNorm::layout(),
            Shader::Dense => kp::Dense::layout(),
            Shader::Lstm => kp::Lstm::layout(),
            Shader::Heads => kp::Heads::layout(),
            Shader::Adam => kp::Adam::layout(),
            Shader::Bench => kp::Bench::layout(),
        }
    }

    /// The values of the shader's pipeline-overridable constants on a device whose
    /// workgroup memory is `workgroup_bytes` (WGSL rejects values for constants a shader
    /// does not declare).
    fn constants(self, workgroup_bytes: u32) -> Vec<(&'static str, f64)> {
        match self {
            Shader::Lstm => vec![("WORKGROUP_BYTES", workgroup_bytes.into())],
            _ => Vec::new(),
        }
    }

    /// The source compiled for `precision`: its prelude, common.wgsl, the parameter
    /// block, the shader.
    pub(super) fn wgsl(self, precision: Precision) -> String {
        format!("{}{COMMON}\n{}\n{}", precision.prelude(), self.params().wgsl(), self.source())
    }
}

const COMMON: &str = include_str!("../../shaders/common.wgsl");

/// How a kernel uses one storage binding. `ReadWrite` also for inputs of kernels that may
/// run in place (x == y): one buffer bound twice is legal only if both bindings are
/// read-write. `Read` and `ReadWrite` bindings are WGSL `array<store>`: their tensors
/// all have one element type, which picks the shader variant; the `F32` ones are
/// `array<f32>` at every precision (see `precision`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    Read,
    ReadWrite,
    ReadF32,
    ReadWriteF32,
}

impl Access {
    pub fn read_only(self) -> bool {
        matches!(self, Access::Read | Access::ReadF32)
    }

    /// Whether the binding is `array<f32>` whatever the variant.
    pub fn always_f32(self) -> bool {
        matches!(self, Access::ReadF32 | Access::ReadWriteF32)
    }
}

/// One entry point and its storage bindings.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Kernel {
    pub shader: Shader,
    pub entry: &'static str,
    pub bindings: &'static [Access],
}

/// Compiled pipelines, their layouts and shader modules, created once per device.
pub struct PipelineCache {
    /// The device's max_compute_workgroup_storage_size, for `Shader::constants`.
    workgroup_bytes: u32,
    modules: HashMap<(Shader, Precision), wgpu::ShaderModule>,
    layouts: HashMap<&'static [Access], wgpu::BindGroupLayout>,
    pipelines: HashMap<(Shader, &'static str, Precision), wgpu::ComputePipeline>,
}

impl PipelineCache {
    pub fn new(limits: &wgpu::Limits) -> Self {
        PipelineCache {
            workgroup_bytes: limits.max_compute_workgroup_storage_size,
            modules: HashMap::new(),
            layouts: HashMap::new(),
            pipelines: HashMap::new(),
        }
    }

    pub fn layout(&mut self, device: &wgpu::Device, bindings: &'static [Access]) -> wgpu::BindGroupLayout {
        self.layouts.entry(bindings).or_insert_with(|| create_layout(device, bindings)).clone()
    }

    /// The kernel's pipeline in the variant whose `store` is `precision`.
    pub fn pipeline(
        &mut self,
        device: &wgpu::Device,
        kernel: &'static Kernel,
        precision: Precision,
    ) -> wgpu::ComputePipeline {
        if let Some(p) = self.pipelines.get(&(kernel.shader, kernel.entry, precision)) {
            return p.clone();
        }
        let layout = self.layout(device, kernel.bindings);
        let module = self
            .modules
            .entry((kernel.shader, precision))
            .or_insert_with(|| {
                device.create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.entry),
                    source: wgpu::ShaderSource::Wgsl(kernel.shader.wgsl(precision).into()),
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
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &kernel.shader.constants(self.workgroup_bytes),
                ..Default::default()
            },
            cache: None,
        });
        self.pipelines.insert((kernel.shader, kernel.entry, precision), pipeline.clone());
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
            ty: wgpu::BufferBindingType::Storage { read_only: access.read_only() },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    });
    let entries: Vec<_> = std::iter::once(params).chain(storage).collect();
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: None, entries: &entries })
}

#[cfg(test)]
mod tests {
    use super::super::params::{Member, Word};
    use super::*;
    use wgpu::naga;

    /// naga's layout of the composed module's `Params` (its members and size) is the
    /// Rust struct's: the WGSL text is generated from the Rust fields, and this checks
    /// that WGSL lays them out at the offsets `#[repr(C)]` gives them.
    #[test]
    fn params_blocks_lay_out_as_in_rust() {
        let shaders = [
            Shader::Elementwise,
            Shader::Reduce,
            Shader::Conv1d,
            Shader::Pool,
            Shader::BatchNorm,
            Shader::Dense,
            Shader::Lstm,
            Shader::Heads,
            Shader::Adam,
            Shader::Bench,
        ];
        for shader in shaders {
            let source = shader.wgsl(Precision::F32);
            let module = naga::front::wgsl::parse_str(&source)
                .unwrap_or_else(|e| panic!("{shader:?}: {}", e.emit_to_string(&source)));
            let (members, span) = module
                .types
                .iter()
                .find_map(|(_, t)| match (&t.name, &t.inner) {
                    (Some(name), naga::TypeInner::Struct { members, span }) if name == "Params" => {
                        Some((members.clone(), *span))
                    }
                    _ => None,
                })
                .unwrap_or_else(|| panic!("{shader:?}: no struct Params"));
            let wgsl: Vec<Member> = members
                .iter()
                .map(|m| Member {
                    name: m.name.clone().unwrap_or_default(),
                    offset: m.offset as usize,
                    word: match module.types[m.ty].inner {
                        naga::TypeInner::Scalar(naga::Scalar::U32) => Word::U32,
                        naga::TypeInner::Scalar(naga::Scalar::F32) => Word::F32,
                        ref other => panic!("{shader:?}: Params member {:?} is {other:?}", m.name),
                    },
                })
                .collect();
            let rust = shader.params();
            assert_eq!(rust.members, wgsl, "{shader:?}: the Rust Params (left) against naga's (right)");
            assert_eq!(rust.size, span as usize, "{shader:?}: Params size");
        }
    }
}
