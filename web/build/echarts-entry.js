// The entry of dashd's ECharts bundle: only what bar charts built by
// go-echarts v2.7.0 (and shaped by web/static/dashd.js) need, exposed as
// the global echarts (window.echarts in a page, self.echarts in dashd's
// paint worker). Built by build.sh into web/static/echarts.min.js.
//
// No DataZoom or Dataset: no option dashd builds uses them, and leaving
// them out keeps a dashboard's first load under its 250 KB budget (8 KB
// gzipped).
//
// go-echarts always emits "title" and "toolbox", so TitleComponent and
// ToolboxComponent are here even when a chart shows neither: without them
// ECharts warns about an unknown component. LegacyGridContainLabel keeps
// grid.containLabel (which go-echarts' opts.Grid still emits) working
// without a deprecation warning in ECharts 6.
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  ToolboxComponent,
  TooltipComponent,
} from 'echarts/components';
import { LegacyGridContainLabel } from 'echarts/features';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([
  BarChart,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  TitleComponent,
  ToolboxComponent,
  TooltipComponent,
  LegacyGridContainLabel,
  CanvasRenderer,
]);

globalThis.echarts = echarts;
