import { useEffect, useRef } from 'react';
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export const seriesColours = ['#1677ff', '#52c41a', '#fa541c', '#faad14'];

// Bars draws grouped bars, one series per entry; it resizes with its box.
export default function Bars({ labels, series, testId, ariaLabel }: { labels: string[]; series: { name: string; values: number[] }[]; testId: string; ariaLabel: string }) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    chart.current = echarts.init(el.current!);
    const ro = new ResizeObserver(() => chart.current?.resize());
    ro.observe(el.current!);
    return () => { ro.disconnect(); chart.current?.dispose(); chart.current = null; };
  }, []);
  useEffect(() => {
    chart.current?.setOption({
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 48 },
      xAxis: { type: 'category', data: labels, axisLabel: { interval: 0, rotate: labels.length > 4 ? 30 : 0 } },
      yAxis: { type: 'value' },
      series: series.map((s, i) => ({ type: 'bar', name: s.name, data: s.values, itemStyle: { color: seriesColours[i % seriesColours.length] } })),
    }, true);
  }, [labels, series]);
  return <div ref={el} data-testid={testId} role="img" aria-label={ariaLabel} style={{ width: '100%', height: 280 }} />;
}
